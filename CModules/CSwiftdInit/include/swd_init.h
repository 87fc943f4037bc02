/* Placeholder until the container init is written. */
int swd_init_placeholder(void);
