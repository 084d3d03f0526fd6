package maillab

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Ports are picked outside the kernel's ephemeral range. A server's port
// must stay free while the server is down (StopSMTP, RestartIMAP) so it
// can bind the same port again; a port from the ephemeral range can be
// taken meanwhile by any outgoing connection on the machine (the lab's
// own readiness probes included) or handed to another lab by the kernel.
// Outside that range only a random pick can collide, and labs of this
// process never pick a port another live lab holds.

// reservedPorts are the ports of this process's live labs.
var reservedPorts = struct {
	sync.Mutex
	m map[int]bool
}{m: map[int]bool{}}

// freePorts picks n distinct free loopback ports outside the ephemeral
// range, not reserved by another lab of this process, and reserves them
// (releasePorts frees them). Each is checked by binding it; the
// listeners are closed before the servers bind, and a clash in that
// window is covered by Start trying again.
func freePorts(n int) ([]int, error) {
	lo, hi := pickRange()
	reservedPorts.Lock()
	defer reservedPorts.Unlock()
	out := make([]int, 0, n)
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for tries := 0; len(out) < n; tries++ {
		if tries > 2000 {
			return nil, fmt.Errorf("no free loopback port in %d-%d after %d tries", lo, hi, tries)
		}
		port := lo + rand.IntN(hi-lo+1)
		if reservedPorts.m[port] {
			continue
		}
		l, err := net.Listen("tcp", hostPort(port))
		if err != nil {
			continue
		}
		ls = append(ls, l)
		reservedPorts.m[port] = true
		out = append(out, port)
	}
	return out, nil
}

// releasePorts returns ports to the pool once their lab no longer needs
// them.
func releasePorts(ports []int) {
	reservedPorts.Lock()
	defer reservedPorts.Unlock()
	for _, p := range ports {
		delete(reservedPorts.m, p)
	}
}

// pickRange returns the range to pick ports from: below the ephemeral
// range if there is room (the usual 32768-60999 leaves 10000-32767), else
// above it.
func pickRange() (lo, hi int) {
	eLo, eHi := 32768, 60999
	if data, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		f := strings.Fields(string(data))
		if len(f) == 2 {
			a, err1 := strconv.Atoi(f[0])
			b, err2 := strconv.Atoi(f[1])
			if err1 == nil && err2 == nil && a <= b {
				eLo, eHi = a, b
			}
		}
	}
	switch {
	case eLo-1 >= 10000+2000:
		return 10000, eLo - 1
	case 65535-eHi >= 2000:
		return eHi + 1, 65535
	default:
		// Hardly any room outside: use the whole unprivileged range.
		return 10000, 65535
	}
}

// portsInUse returns the ports that another socket holds (bind fails
// with EADDRINUSE); call it while the lab's own servers are stopped.
func portsInUse(ports []int) []int {
	var busy []int
	for _, port := range ports {
		ln, err := net.Listen("tcp", hostPort(port))
		if err != nil {
			if errors.Is(err, syscall.EADDRINUSE) {
				busy = append(busy, port)
			}
			continue
		}
		ln.Close()
	}
	return busy
}

// restartOnSamePorts starts a server again on its old ports. When one of
// them is held by another socket (a connection that happened to get it),
// it waits for the holder to let go, retrying for up to about 3 s, then
// names the port in the error.
func restartOnSamePorts(ctx context.Context, ports []int, start func(context.Context) error, cleanup func()) error {
	const attempts = 10
	for attempt := 1; ; attempt++ {
		err := start(ctx)
		if err == nil {
			return nil
		}
		cleanup()
		busy := portsInUse(ports)
		if len(busy) == 0 {
			return err
		}
		if attempt == attempts || ctx.Err() != nil {
			return fmt.Errorf("port(s) %v taken by another process while the server was down: %w", busy, err)
		}
		wait := time.NewTimer(300 * time.Millisecond)
		select {
		case <-ctx.Done():
			wait.Stop()
		case <-wait.C:
		}
	}
}
