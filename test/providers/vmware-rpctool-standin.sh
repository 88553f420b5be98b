#!/bin/bash
# Test stand-in for open-vm-tools' vmware-rpctool and the VMware host behind it, put first on PATH
# by test/providers/rmcfg.test.ts. It answers as rpctool.c does (one argument, the RPC text;
# success: the reply and "\n" on stdout, exit 0; failure: the reply and "\n" on stderr, exit 1)
# and as the host's guestinfo store does (keys are case-insensitive; "info-get" of an unset key
# fails with "No value found"; "info-set guestinfo.KEY VALUE" stores VALUE, everything after the
# first space that follows the key, byte for byte).
#
# Environment:
#   RPCSTANDIN_DIR    the host's guestinfo: one file per key (lower case, without "guestinfo.")
#   RPCSTANDIN_LOG    each request is kept byte for byte in RPCSTANDIN_LOG.N (N = 1, 2, ...)
#   RPCSTANDIN_FAULT  not-vmware (what rpctool prints outside a VMware VM) | refuse-set (the host
#                     refuses every info-set) | refuse-get (every info-get) | refuse-get=KEY
#                     (the info-get of that one key, lower case)
set -u
log=${RPCSTANDIN_LOG:?}
n=1
while [[ -e $log.$n ]]; do n=$((n + 1)); done
printf '%s' "${1-}" >"$log.$n"
(($# == 1)) || { printf 'rpctool syntax:\n\n  rpctool <text>\n\n' >&2; exit 1; }
fault=${RPCSTANDIN_FAULT-}
if [[ $fault == not-vmware ]]; then
    printf 'Failed sending message to VMware.\n' >&2
    exit 1
fi
req=$1
case $req in
    "info-get guestinfo."*)
        key=${req#info-get guestinfo.}
        [[ $fault == refuse-get || $fault == "refuse-get=${key,,}" ]] && { printf 'Permission denied\n' >&2; exit 1; }
        file=$RPCSTANDIN_DIR/${key,,}
        if [[ -e $file ]]; then
            cat "$file"
            printf '\n'
            exit 0
        fi
        printf 'No value found\n' >&2
        exit 1
        ;;
    "info-set guestinfo."*)
        [[ $fault == refuse-set ]] && { printf 'Permission denied\n' >&2; exit 1; }
        rest=${req#info-set guestinfo.}
        key=${rest%% *}
        [[ $rest == *" "* ]] || { printf 'Invalid arguments\n' >&2; exit 1; }
        printf '%s' "${rest#* }" >"$RPCSTANDIN_DIR/${key,,}"
        printf '\n'
        exit 0
        ;;
    *)
        printf 'Unknown command\n' >&2
        exit 1
        ;;
esac
