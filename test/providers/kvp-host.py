# The host and kernel side of the Hyper-V KVP exchange, for tests: a pseudo-terminal in raw mode
# stands in for /dev/vmbus/hv_kvp. Prints the device path, then plays the hv_utils driver: reads
# the daemon's registration, echoes it, pushes each pair given as POOL:KEY=VALUE (or KEY@FILE to
# take the value from a file) as a KVP_OP_SET message and checks each answer (HV_S_OK). An
# argument !OP sends a message of another operation (e.g. !3, ENUMERATE), which libhvee answers
# with HV_E_FAIL. Messages are laid out here with struct, independently of src/acquire/kvp.ts.
# Usage: python3 kvp-host.py PAIR|!OP...
import os, struct, sys, tty

SIZE = 7432
HEAD = struct.Struct('<BBHIII512s2048s')  # op, pool, pad, value_type, key_size, value_size, key, value

def read_exact(fd, n):
    buf = b''
    while len(buf) < n:
        chunk = os.read(fd, n - len(buf))
        if not chunk:
            raise SystemExit('EOF after %d of %d bytes' % (len(buf), n))
        buf += chunk
    return buf

def write_all(fd, data):
    while data:
        data = data[os.write(fd, data):]

def message(op, pool=0, key=b'', value=b''):
    body = HEAD.pack(op, pool, 0, 1, len(key) + 1 if op == 1 else 0, len(value) + 1 if op == 1 else 0, key, value)
    return body + b'\0' * (SIZE - len(body))

master, slave = os.openpty()
tty.setraw(slave)
print(os.ttyname(slave), flush=True)
reg = read_exact(master, SIZE)
if reg[0] != 100 or any(reg[1:]):
    sys.stderr.write('bad registration message: op %d\n' % reg[0]); sys.exit(3)
write_all(master, message(100))  # the driver echoes the registration; no answer is expected
answers = 0
HV_E_FAIL = 0x80004005
for arg in sys.argv[1:]:
    if arg.startswith('!'):
        write_all(master, message(int(arg[1:])))
        status = struct.unpack('<I', read_exact(master, SIZE)[:4])[0]
        if status != HV_E_FAIL:
            sys.stderr.write('answer %d to operation %s has status %#x, not HV_E_FAIL\n' % (answers, arg[1:], status)); sys.exit(5)
        answers += 1
        continue
    pool, _, kv = arg.partition(':')
    if '@' in kv and '=' not in kv:
        key, _, path = kv.partition('@')
        value = open(path, 'rb').read()
    else:
        key, _, value = kv.partition('=')
        value = value.encode()
    write_all(master, message(1, int(pool), key.encode(), value))
    reply = read_exact(master, SIZE)
    status = struct.unpack('<i', reply[:4])[0]
    if status != 0:
        sys.stderr.write('answer %d has status %d\n' % (answers, status)); sys.exit(4)
    answers += 1
print('answered %d' % answers, flush=True)
# Keep the slave open until the reader has gone (it closes its descriptor after a second of silence).
os.read(sys.stdin.fileno(), 1)
