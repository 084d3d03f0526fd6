package imaptest

import (
	"bytes"
	"net"
	"sync"
)

// capFilterListener hides the IDLE capability: imapserver always offers
// IDLE to IMAP4rev1 clients, so the capability lines it writes are edited
// on their way out. Only whole lines that carry a capability list
// ("* CAPABILITY ..." or "... [CAPABILITY ...]") are touched; a message
// body that contains such a line verbatim would be corrupted, which tests
// must avoid.
type capFilterListener struct {
	net.Listener
}

func (l *capFilterListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &capFilterConn{Conn: c}, nil
}

type capFilterConn struct {
	net.Conn
	mu    sync.Mutex
	carry []byte // the unfinished last line
}

func (c *capFilterConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	buf := append(c.carry, p...)
	i := bytes.LastIndexByte(buf, '\n')
	if i < 0 {
		c.carry = buf
		return len(p), nil
	}
	out := filterCapLines(buf[:i+1])
	c.carry = append([]byte(nil), buf[i+1:]...)
	if _, err := c.Conn.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}

// filterCapLines removes the IDLE token from capability lines in b (whole
// CRLF-terminated lines).
func filterCapLines(b []byte) []byte {
	lines := bytes.SplitAfter(b, []byte("\n"))
	var out bytes.Buffer
	out.Grow(len(b))
	for _, line := range lines {
		if len(line) < 1024 && (bytes.HasPrefix(line, []byte("* CAPABILITY ")) || bytes.Contains(line, []byte("[CAPABILITY "))) {
			line = bytes.ReplaceAll(line, []byte(" IDLE "), []byte(" "))
			line = bytes.ReplaceAll(line, []byte(" IDLE]"), []byte("]"))
			line = bytes.ReplaceAll(line, []byte(" IDLE\r\n"), []byte("\r\n"))
		}
		out.Write(line)
	}
	return out.Bytes()
}
