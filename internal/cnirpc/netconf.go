package cnirpc

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/containernetworking/cni/pkg/types"

	"switchboard/internal/bandwidth"
)

// Plugin types the agent accepts in a network configuration: its own, and the
// seed (L2S-M) format, so that NetworkAttachmentDefinitions written for L2S-M
// keep working.
const (
	TypeSwitchboard = "switchboard"
	TypeL2SM        = "l2sm"
)

// NetConf is the network configuration the plugin receives on stdin, as the
// agent reads it from Request.Config.
//
// NetConf is for decoding only: the embedded types.NetConf brings a
// MarshalJSON method that would drop the fields declared here.
type NetConf struct {
	types.NetConf

	// Network names the switchboard Network. When empty, the configuration's
	// name (the NetworkAttachmentDefinition's name, as Multus passes it) is used;
	// see NetworkName.
	Network string `json:"network,omitempty"`
	// RuntimeConfig holds what the pod's network selection asked for. Multus
	// passes it only for capabilities the configuration declares
	// ("capabilities": {"ips": true, "mac": true}).
	RuntimeConfig RuntimeConfig `json:"runtimeConfig,omitzero"`
	// Socket is the agent's socket, a file in RuntimeDir (see CheckSocket);
	// empty means DefaultSocket.
	Socket string `json:"socket,omitempty"`

	// Primary marks the configuration of the cluster's primary network
	// (the agent in primary mode, package clusternet): no Network, an
	// address from the node's pod CIDR.
	Primary bool `json:"primary,omitempty"`

	// Device is the seed format's device ("l2sm-vNet").
	Device string `json:"device,omitempty"`
	// Kind is the seed format's kind object (e.g. {"ext-vnet": {...}}), raw.
	Kind json.RawMessage `json:"kind,omitempty"`
}

// RuntimeConfig is the part of the configuration the runtime fills in per pod.
type RuntimeConfig struct {
	IPs []string `json:"ips,omitempty"` // static addresses, "10.0.0.5/24" or "10.0.0.5"
	Mac string   `json:"mac,omitempty"` // static MAC address
	// Bandwidth is CNI's bandwidth capability: the limits the pod's
	// selection asked for ("capabilities": {"bandwidth": true}).
	Bandwidth *bandwidth.CNI `json:"bandwidth,omitempty"`
}

// NetworkName returns the name of the Network the configuration is for.
func (c *NetConf) NetworkName() string {
	if c.Network != "" {
		return c.Network
	}
	return c.Name
}

// ParseNetConf decodes and checks a network configuration of type
// "switchboard" or "l2sm". Bad input gives a *FieldError naming the field.
func ParseNetConf(data []byte) (*NetConf, error) {
	var c NetConf
	if err := json.Unmarshal(data, &c); err != nil {
		if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
			return nil, &FieldError{Field: te.Field, Reason: fmt.Sprintf("want %s, got JSON %s", te.Type, te.Value)}
		}
		return nil, &FieldError{Field: "config", Reason: "not valid JSON: " + err.Error()}
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

func (c *NetConf) validate() error {
	if c.Type != TypeSwitchboard && c.Type != TypeL2SM {
		return &FieldError{Field: "type", Reason: fmt.Sprintf("%q is not %q or %q", c.Type, TypeSwitchboard, TypeL2SM)}
	}
	if c.NetworkName() == "" {
		return &FieldError{Field: "network", Reason: `missing; set "network" or "name"`}
	}
	for i, s := range c.RuntimeConfig.IPs {
		if !validIP(s) {
			return &FieldError{Field: fmt.Sprintf("runtimeConfig.ips[%d]", i), Reason: fmt.Sprintf("%q is not an IP address or address/prefix", s)}
		}
	}
	if c.RuntimeConfig.Mac != "" {
		mac, err := net.ParseMAC(c.RuntimeConfig.Mac)
		switch {
		case err != nil || len(mac) != 6:
			return &FieldError{Field: "runtimeConfig.mac", Reason: fmt.Sprintf("%q is not an Ethernet MAC address", c.RuntimeConfig.Mac)}
		case mac[0]&1 == 1:
			return &FieldError{Field: "runtimeConfig.mac", Reason: fmt.Sprintf("%q is a multicast address", c.RuntimeConfig.Mac)}
		}
	}
	if b := c.RuntimeConfig.Bandwidth; b != nil {
		if _, err := b.Limits(); err != nil {
			return &FieldError{Field: "runtimeConfig.bandwidth", Reason: err.Error()}
		}
	}
	if c.Socket != "" {
		return CheckSocket(RuntimeDir, c.Socket)
	}
	return nil
}

func validIP(s string) bool {
	if _, err := netip.ParsePrefix(s); err == nil {
		return true
	}
	_, err := netip.ParseAddr(s)
	return err == nil
}
