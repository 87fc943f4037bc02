#!/bin/bash
# Writes swiftd.1 (a man page) and swiftd.bash-completion into OUTDIR, both generated from the
# built-in help of BINARY: `swiftd --help`, `swiftd help COMMAND` and `swiftd -d --help`.
#
# Usage: scripts/deb-docs.sh BINARY OUTDIR DATE
#   DATE is the man page's date (YYYY-MM-DD), from SOURCE_DATE_EPOCH for reproducible output.
set -euo pipefail

binary=$1
outdir=$2
date=$3
version=$("$binary" --version | awk '{ print $NF }')

# The commands, in the order of `swiftd --help`.
commands=$("$binary" --help | awk '/^Commands:/ { on = 1; next } on && NF { print $1 }')

# Escapes text for roff: backslashes, and dots or quotes that would start a request.
roff_escape() {
    sed -e 's/\\/\\e/g' -e 's/^\([.'"'"']\)/\\\&\1/' -e 's/-/\\-/g'
}

# Turns an option table ("  -a, --all   Text" or a flag line followed by an indented text) into
# .TP entries; other lines become paragraphs.
options_to_roff() {
    awk '
        function flush() { if (text != "") { print text; text = "" } }
        /^  +(\\)?-/ {
            flush()
            line = $0
            sub(/^ +/, "", line)
            # The flag part ends at two spaces; the rest of the line is its text.
            split_at = match(line, /  +/)
            print ".TP"
            if (split_at > 0) {
                print ".B " substr(line, 1, split_at - 1)
                text = substr(line, split_at)
                sub(/^ +/, "", text)
            } else {
                print ".B " line
            }
            next
        }
        /^        +[^ ]/ && text != "" { t = $0; sub(/^ +/, "", t); text = text " " t; next }
        /^        +[^ ]/ { t = $0; sub(/^ +/, "", t); text = t; next }
        { flush() }
        END { flush() }
    '
}

# The body of `swiftd help COMMAND` without its usage line, as roff.
command_section() {
    local command=$1 help
    help=$("$binary" help "$command")
    local usage
    usage=$(printf '%s\n' "$help" | sed -n 's/^Usage: //p' | head -1)
    printf '.SS %s\n' "$command"
    printf '.B %s\n' "$(printf '%s' "$usage" | roff_escape)"
    printf '.PP\n'
    printf '%s\n' "$help" | sed '1d' | awk '
        /^Options:/ { exit }
        NF { printf "%s ", $0; seen = 1 }
        END { if (seen) print "" }
    ' | roff_escape
    if grep -q '^Options:' <<<"$help"; then
        printf '%s\n' "$help" | sed '1,/^Options:/d' | roff_escape | options_to_roff
    fi
}

{
    cat <<EOF
.TH SWIFTD 1 "$date" "swiftd $version" "User Commands"
.SH NAME
swiftd \\- container engine that serves the Docker Engine API
.SH SYNOPSIS
.B swiftd
[\\fIOPTIONS\\fR] \\fICOMMAND\\fR [\\fIARG\\fR...]
.br
.B swiftd \\-d
[\\fIDAEMON OPTIONS\\fR]
.SH DESCRIPTION
.B swiftd \\-d
is the daemon: it serves the Docker Engine API v1.45 on
.I /run/swiftd.sock
and runs containers with Linux namespaces, cgroups, overlayfs and iptables.
Every other command is a client that talks to the daemon.
Members of the
.B swiftd
group may use the socket, which gives them root on this host.
.PP
The package's
.B swiftd.socket
unit listens on
.I /run/swiftd.sock
and starts
.B swiftd.service
on the first connection.
.B systemctl reload swiftd
sends SIGHUP, which re-reads the configuration file and applies its log level.
.SH OPTIONS
EOF
    "$binary" --help | sed -n '/^Options:/,/^Commands:/p' | sed '1d;$d' | roff_escape \
        | options_to_roff
    echo ".SH COMMANDS"
    for command in $commands; do
        command_section "$command"
    done
    echo ".SH DAEMON OPTIONS"
    "$binary" -d --help | sed '1,/^Options:/d' | roff_escape | options_to_roff
    cat <<'EOF'
.SH FILES
.TP
.I /etc/swiftd/daemon.json
The daemon's configuration: a JSON object keyed by the names in brackets above.
.TP
.I /var/lib/swiftd
Images, containers and their state.
.TP
.I /run/swiftd.sock
The API socket.
.TP
.I /run/swiftd.pid
The daemon's pid.
.SH ENVIRONMENT
.TP
.B SWIFTD_HOST, DOCKER_HOST
The daemon's address when \-H is not given.
.SH SEE ALSO
.BR systemctl (1),
.BR journalctl (1)
EOF
} >"$outdir/swiftd.1"

# Completion: the commands, each command's flags, and the daemon's flags after -d.
{
    echo "# bash completion for swiftd, generated from its built-in help."
    echo "_swiftd() {"
    echo '    local cur=${COMP_WORDS[COMP_CWORD]} command="" word'
    echo '    for word in "${COMP_WORDS[@]:1:COMP_CWORD-1}"; do'
    echo '        case $word in -*) ;; *) command=$word; break ;; esac'
    echo '    done'
    echo '    local words'
    echo '    case $command in'
    for command in $commands; do
        flags=$("$binary" help "$command" | { grep -o -- '--[a-z][a-z-]*' || true; } | sort -u \
            | tr '\n' ' ')
        printf '        %s) words="%s--help" ;;\n' "$command" "$flags"
    done
    daemon_flags=$("$binary" -d --help | grep -o -- '--[a-z][a-z-]*' | sort -u | tr '\n' ' ')
    printf '        "") case " ${COMP_WORDS[*]} " in\n'
    printf '                *" -d "*) words="%s" ;;\n' "$daemon_flags"
    printf '                *) words="%s -d --host --help --version" ;;\n' "$(echo $commands)"
    printf '            esac ;;\n'
    echo '    esac'
    echo '    mapfile -t COMPREPLY < <(compgen -W "$words" -- "$cur")'
    echo "}"
    echo "complete -o default -F _swiftd swiftd"
} >"$outdir/swiftd.bash-completion"
