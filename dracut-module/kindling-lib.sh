# Shell helpers shared by Kindling's initrd scripts (sourced, installed as
# /usr/lib/kindling/kindling-lib.sh). Bash only.

read -r -a KINDLING_CMDLINE </proc/cmdline

# kargs_value NAME [DEFAULT]: the value of the last NAME=VALUE on the kernel command line, "1" for
# a bare NAME, DEFAULT when absent.
kargs_value() {
    local name=$1 value=${2-} a
    for a in "${KINDLING_CMDLINE[@]}"; do
        if [[ $a == "$name" ]]; then value=1
        elif [[ ${a%%=*} == "$name" ]]; then value=${a#*=}
        fi
    done
    printf '%s' "$value"
}

# truthy VALUE: false for "", 0, no, off, false, as Ignition's generator reads booleans.
truthy() { case $1 in "" | 0 | no | off | false) return 1 ;; *) return 0 ;; esac; }

# record_failure STAGE UNIT STATUS LINES: what kindling-failed prints before the emergency shell.
record_failure() {
    mkdir -p /run/kindling
    printf 'stage=%s\nunit=%s\nstatus=%s\n%s\n' "$1" "$2" "$3" "$4" >/run/kindling/failed
}

# wait_for_device PATH: up to 10 s for udev to create it; false if it never comes.
wait_for_device() {
    local i
    for ((i = 0; i < 100; i++)); do
        [[ -e $1 ]] && return 0
        sleep 0.1
    done
    [[ -e $1 ]]
}

# is_mounted DIR: true when something is mounted exactly on DIR.
is_mounted() {
    local _dev mnt _rest
    while read -r _dev mnt _rest; do [[ $mnt == "$1" ]] && return 0; done </proc/self/mounts
    return 1
}
