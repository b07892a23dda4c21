# A stand-in for a VM's virtio-serial backend: a pseudo-terminal in raw mode whose other end is relayed
# to linsockd's guest socket. Prints the pty's device path, then relays until either side closes.
import os, pty, select, socket, sys, tty

master, slave = pty.openpty()
tty.setraw(slave)
sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
sock.connect(sys.argv[1])
print(os.ttyname(slave), flush=True)
while True:
    ready, _, _ = select.select([master, sock], [], [])
    if master in ready:
        try:
            data = os.read(master, 65536)
        except OSError:
            break
        if not data:
            break
        sock.sendall(data)
    if sock in ready:
        data = sock.recv(65536)
        if not data:
            break
        view = memoryview(data)
        while view:
            view = view[os.write(master, view):]
