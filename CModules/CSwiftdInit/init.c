int swd_init_placeholder(void) { return 0; }
