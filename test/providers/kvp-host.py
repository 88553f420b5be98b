# The host and kernel side of the Hyper-V KVP exchange, for tests: a pseudo-terminal in raw mode
# stands in for /dev/vmbus/hv_kvp. Prints the device path, then plays the hv_utils driver: reads
# the daemon's registration, echoes it, pushes each pair given as POOL:KEY=VALUE (or KEY@FILE to
# take the value from a file) as a KVP_OP_SET message and checks each answer. Messages are laid
# out here with struct, independently of src/acquire/kvp.ts.
# Usage: python3 kvp-host.py [--no-register-check] PAIR...
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
for arg in sys.argv[1:]:
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
