package cnirpc_test

import (
	"encoding/json"
	"strings"
	"testing"

	"switchboard/internal/cnirpc"
)

// seedConfig is a seed (L2S-M) style configuration as Multus passes it: the
// NetworkAttachmentDefinition's name filled in as "name".
const seedConfig = `{
  "cniVersion": "0.3.0",
  "name": "sample-inter-network",
  "type": "l2sm",
  "device": "l2sm-vNet",
  "kind": {"ext-vnet": {"provider": {"name": "idco", "domain": "example.org"}, "accessList": []}}
}`

const switchboardConfig = `{
  "cniVersion": "1.1.0",
  "name": "team-a-red",
  "type": "switchboard",
  "network": "red",
  "socket": "/run/switchboard/cni.sock",
  "capabilities": {"ips": true, "mac": true},
  "runtimeConfig": {"ips": ["10.0.0.5/24", "fd00::5"], "mac": "02:00:00:00:00:05"}
}`

func TestParseNetConf(t *testing.T) {
	c, err := cnirpc.ParseNetConf([]byte(switchboardConfig))
	if err != nil {
		t.Fatal(err)
	}
	if c.NetworkName() != "red" || c.CNIVersion != "1.1.0" || c.Socket != "/run/switchboard/cni.sock" ||
		strings.Join(c.RuntimeConfig.IPs, ",") != "10.0.0.5/24,fd00::5" || c.RuntimeConfig.Mac != "02:00:00:00:00:05" {
		t.Errorf("ParseNetConf(switchboard) = %+v", c)
	}

	c, err = cnirpc.ParseNetConf([]byte(seedConfig))
	if err != nil {
		t.Fatal(err)
	}
	var kind map[string]json.RawMessage
	if err := json.Unmarshal(c.Kind, &kind); err != nil || kind["ext-vnet"] == nil {
		t.Errorf("seed kind = %s (%v), want the ext-vnet object", c.Kind, err)
	}
	if c.NetworkName() != "sample-inter-network" || c.Type != "l2sm" || c.Device != "l2sm-vNet" {
		t.Errorf("ParseNetConf(seed) = %+v", c)
	}
}

func TestParseNetConfNamesTheField(t *testing.T) {
	tests := []struct {
		config    string
		wantField string
	}{
		{`{"name":"red","type":"switchboard"`, "config"},
		{`{"name":"red","type":"bridge"}`, "type"},
		{`{"name":"red"}`, "type"},
		{`{"type":"switchboard"}`, "network"},
		{`{"name":"red","type":"switchboard","network":7}`, "network"},
		{`{"name":"red","type":"switchboard","runtimeConfig":{"ips":"10.0.0.5/24"}}`, "runtimeConfig.ips"},
		{`{"name":"red","type":"switchboard","runtimeConfig":{"ips":["10.0.0.5/24","10.0.0.300"]}}`, "runtimeConfig.ips[1]"},
		{`{"name":"red","type":"switchboard","runtimeConfig":{"mac":"02:00:00:00:00"}}`, "runtimeConfig.mac"},
		{`{"name":"red","type":"switchboard","runtimeConfig":{"mac":"01:00:5e:00:00:01"}}`, "runtimeConfig.mac"},
		{`{"name":"red","type":"switchboard","runtimeConfig":{"bandwidth":{"ingressRate":-1}}}`, "runtimeConfig.bandwidth"},
		{`{"name":"red","type":"switchboard","runtimeConfig":{"bandwidth":{"egressRate":10}}}`, "runtimeConfig.bandwidth"},
		{`{"name":"red","type":"switchboard","runtimeConfig":{"bandwidth":{"egressRate":"10M"}}}`, "runtimeConfig.bandwidth.egressRate"},
		{`{"name":"red","type":"switchboard","socket":"run/cni.sock"}`, "socket"},
		{`{"name":"red","type":"switchboard","socket":"/tmp/cni.sock"}`, "socket"},
		{`{"name":"red","type":"switchboard","socket":"/run/switchboard/../docker.sock"}`, "socket"},
	}
	for _, tt := range tests {
		_, err := cnirpc.ParseNetConf([]byte(tt.config))
		if got := fieldOf(t, err); got != tt.wantField {
			t.Errorf("ParseNetConf(%s) = %v, want field %q", tt.config, err, tt.wantField)
		} else if !strings.Contains(err.Error(), tt.wantField) {
			t.Errorf("message %q does not name %q", err, tt.wantField)
		}
	}
}
