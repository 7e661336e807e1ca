package operator

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"switchboard/api/v1alpha1"
)

// seedTypes are the CNI types whose NetworkAttachmentDefinitions define a
// Network: the seed system's and ours.
var seedTypes = []string{"l2sm", "switchboard"}

type seedIPAM struct {
	CIDR    string      `json:"cidr"`
	Subnet  string      `json:"subnet"`
	Ranges  []seedRange `json:"ranges"`
	Exclude []string    `json:"exclude"`
	Gateway string      `json:"gateway"`
}

type seedRange struct {
	Start      string `json:"start"`
	End        string `json:"end"`
	RangeStart string `json:"rangeStart"`
	RangeEnd   string `json:"rangeEnd"`
}

// NetworkSpecFromConfig derives a Network's spec from the CNI config of a
// NetworkAttachmentDefinition. ours is false, with no error, for a valid
// config of another plugin. The type is vnet unless "kind" names
// "ext-vnet" or "vlink"; an "ipam" object ("cidr" or "subnet", "ranges",
// "exclude", "gateway") becomes spec.ipam; without one the network is pure
// L2. Errors say what is wrong with the config, for an event on the NAD.
func NetworkSpecFromConfig(config string) (spec v1alpha1.NetworkSpec, ours bool, err error) {
	var generic map[string]json.RawMessage
	if err := json.Unmarshal([]byte(config), &generic); err != nil {
		return spec, false, fmt.Errorf("spec.config is not a JSON object: %w", err)
	}
	var typ string
	if raw, ok := generic["type"]; ok {
		if err := json.Unmarshal(raw, &typ); err != nil {
			return spec, false, errors.New(`spec.config: "type" must be a string such as "l2sm"`)
		}
	}
	if !slices.Contains(seedTypes, typ) {
		return spec, false, nil
	}
	var kind map[string]json.RawMessage
	if raw, ok := generic["kind"]; ok && !isNull(raw) {
		if err := json.Unmarshal(raw, &kind); err != nil {
			return spec, true, errors.New(`spec.config: "kind" must be an object such as {"ext-vnet": {...}}`)
		}
	}
	if spec.Type, err = kindToType(kind); err != nil {
		return spec, true, err
	}
	if spec.Type == v1alpha1.ExtVNet {
		if err := extVNetFromSeed(kind[string(v1alpha1.ExtVNet)], &spec); err != nil {
			return spec, true, err
		}
	}
	if raw, ok := generic["ipam"]; ok && !isNull(raw) {
		var s seedIPAM
		if err := json.Unmarshal(raw, &s); err != nil {
			return spec, true, fmt.Errorf(`spec.config: "ipam" must be an object with string "cidr", "gateway", list "exclude" and "ranges" of {"start", "end"}: %w`, err)
		}
		if spec.IPAM, err = s.toSpec(); err != nil {
			return spec, true, err
		}
	}
	return spec, true, nil
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

func kindToType(kind map[string]json.RawMessage) (v1alpha1.NetworkType, error) {
	known := []v1alpha1.NetworkType{v1alpha1.VNet, v1alpha1.VLink, v1alpha1.ExtVNet}
	if len(kind) == 0 {
		return v1alpha1.VNet, nil
	}
	if len(kind) == 1 {
		for k := range kind {
			if t := v1alpha1.NetworkType(k); slices.Contains(known, t) {
				return t, nil
			}
		}
	}
	keys := make([]string, 0, len(kind))
	for k := range kind {
		keys = append(keys, fmt.Sprintf("%q", k))
	}
	slices.Sort(keys)
	return "", fmt.Errorf(`spec.config: "kind" must hold exactly one of "vnet", "vlink" or "ext-vnet", not %s`, strings.Join(keys, ", "))
}

func (s *seedIPAM) toSpec() (*v1alpha1.IPAM, error) {
	out := &v1alpha1.IPAM{CIDR: s.CIDR, Exclude: s.Exclude, Gateway: s.Gateway}
	if out.CIDR == "" {
		out.CIDR = s.Subnet
	}
	if out.CIDR == "" {
		return nil, errors.New(`spec.config: "ipam" needs "cidr" (or "subnet"), e.g. "10.20.0.0/24"; leave "ipam" out for a pure L2 network`)
	}
	for i, r := range s.Ranges {
		start, end := firstSet(r.Start, r.RangeStart), firstSet(r.End, r.RangeEnd)
		if start == "" || end == "" {
			return nil, fmt.Errorf(`spec.config: "ipam.ranges[%d]" needs "start" and "end"`, i)
		}
		out.Ranges = append(out.Ranges, v1alpha1.IPRange{Start: start, End: end})
	}
	return out, nil
}

// firstSet returns the first non-empty string.
func firstSet(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// seedExtVNet is the "kind": {"ext-vnet": ...} object of seed 000.
type seedExtVNet struct {
	Provider *struct {
		Name   string `json:"name"`
		Domain string `json:"domain"`
	} `json:"provider"`
	AccessList []struct {
		User      string `json:"user"`
		PublicKey string `json:"public-key"`
	} `json:"accessList"`
}

// extVNetFromSeed copies the provider and the access list of a seed
// ext-vnet definition into spec.
func extVNetFromSeed(raw json.RawMessage, spec *v1alpha1.NetworkSpec) error {
	var s seedExtVNet
	if err := json.Unmarshal(raw, &s); err != nil {
		return fmt.Errorf(`spec.config: "kind.ext-vnet" must be an object with "provider": {"name", "domain"} and "accessList": [{"user", "public-key"}]: %w`, err)
	}
	if s.Provider == nil || s.Provider.Name == "" || s.Provider.Domain == "" {
		return errors.New(`spec.config: "kind.ext-vnet.provider" needs "name" and "domain" (the IDCO's name and its host:port)`)
	}
	spec.Provider = &v1alpha1.Provider{Name: s.Provider.Name, Domain: s.Provider.Domain}
	for i, e := range s.AccessList {
		if e.User == "" || e.PublicKey == "" {
			return fmt.Errorf(`spec.config: "kind.ext-vnet.accessList[%d]" needs "user" and "public-key" (PEM)`, i)
		}
		spec.AccessList = append(spec.AccessList, v1alpha1.AccessEntry{User: e.User, PublicKey: e.PublicKey})
	}
	return nil
}
