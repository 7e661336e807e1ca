package edge

import (
	"errors"
	"fmt"
	"net"

	"github.com/vishvananda/netlink"
)

// Status says, per link of the last Set, what is in place and what is
// missing, as the kernel holds it when Status is called.
type Status struct {
	Links []LinkStatus // sorted by ID
}

// LinkStatus is the state of one link.
type LinkStatus struct {
	ID     uint32
	Bridge string // the link's bridge, sbwb<ID>
	Tunnel string // the link's tunnel port; "" if Set could not make it
	Cable  string // the cable the Config gave
	MTU    int    // the link's MTU; 0 if its settings are invalid
	Peers  int    // remote edges
	// Ready: bridge, tunnel port and cable are there, up, and joined, so
	// frames can flow between the local segment and the remote edges.
	Ready   bool
	Missing []string // what is missing or wrong; empty when Ready
}

// linkWant is what the last Set wanted for a link, and how it went.
type linkWant struct {
	id    uint32
	cable string
	mtu   int
	peers int
	err   error
}

// Status reads the kernel and reports on every link of the last Set; the
// caller owns the result. Before any Set it is empty.
func (e *Edge) Status() (Status, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.h == nil {
		return Status{}, errClosed
	}
	var st Status
	for _, w := range e.want {
		ls, err := e.linkStatus(w)
		if err != nil {
			return Status{}, err
		}
		st.Links = append(st.Links, ls)
	}
	return st, nil
}

func (e *Edge) linkStatus(w linkWant) (LinkStatus, error) {
	ls := LinkStatus{ID: w.id, Bridge: BridgeName(w.id), Tunnel: e.tunDev[w.id], Cable: w.cable, MTU: w.mtu, Peers: w.peers}
	missing := func(format string, args ...any) { ls.Missing = append(ls.Missing, fmt.Sprintf(format, args...)) }
	if w.err != nil && !errors.Is(w.err, ErrNoCable) {
		missing("last Set failed: %v", w.err)
	}
	br, err := e.dev.Find(ls.Bridge, "")
	if err != nil {
		return ls, err
	}
	switch {
	case br == nil:
		missing("bridge %q does not exist", ls.Bridge)
	case br.Attrs().Flags&net.FlagUp == 0:
		missing("bridge %q is down", ls.Bridge)
	}
	port := func(name, what string, wantCarrier bool) error {
		l, err := e.dev.Find(name, "")
		switch {
		case err != nil:
			return err
		case l == nil:
			missing("%s %q does not exist", what, name)
		case br != nil && l.Attrs().MasterIndex != br.Attrs().Index:
			missing("%s %q is not a port of %q", what, name, ls.Bridge)
		case l.Attrs().Flags&net.FlagUp == 0:
			missing("%s %q is down", what, name)
		case wantCarrier && l.Attrs().OperState != netlink.OperUp:
			missing("%s %q has no carrier: is its other end, on the network's bridge, up?", what, name)
		case w.mtu != 0 && l.Attrs().MTU != w.mtu:
			missing("%s %q has MTU %d, the link %d", what, name, l.Attrs().MTU, w.mtu)
		}
		return nil
	}
	if ls.Tunnel == "" {
		missing("no tunnel port")
	} else if err := port(ls.Tunnel, "tunnel port", false); err != nil {
		return ls, err
	}
	if ls.Cable == "" {
		missing("no cable given")
	} else if err := port(ls.Cable, "cable", true); err != nil {
		return ls, err
	}
	ls.Ready = len(ls.Missing) == 0
	return ls, nil
}
