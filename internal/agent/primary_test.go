package agent

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"switchboard/internal/cnirpc"
	"switchboard/internal/firewall"
)

// fakePrimary is a PrimaryNetwork that records the requests it is handed
// and returns a fixed chain as its rules.
type fakePrimary struct {
	got []string
	err error
}

func (f *fakePrimary) Setup(manager.Manager, func(context.Context) error) error { return nil }

func (f *fakePrimary) HandleCNI(_ context.Context, req cnirpc.Request) (json.RawMessage, error) {
	f.got = append(f.got, req.Command)
	return json.RawMessage(`{}`), f.err
}

func (f *fakePrimary) Rules(context.Context) (firewall.Spec, error) {
	return firewall.Spec{Chains: []firewall.Chain{{Name: "isolation", Hook: firewall.Forward, Rules: []firewall.Rule{
		{Match: []firewall.Match{firewall.IifName("sbp*"), firewall.CtStateEstablished()}, Verdict: firewall.Accept},
	}}}}, nil
}

type badInput struct{}

func (badInput) Error() string {
	return "namespace a: annotation switchboard.dev/isolation=\"x\": use \"true\""
}
func (badInput) BadRequest() bool { return true }

const primaryConf = `{"cniVersion": "1.0.0", "name": "switchboard-primary", "type": "switchboard", "primary": true}`

func TestPrimaryDispatch(t *testing.T) {
	a, _, _ := underlayAgent(t, interceptor.Funcs{})
	req := cnirpc.Request{Command: "ADD", ContainerID: "c", IfName: "eth0", NetNS: "/x", Config: []byte(primaryConf)}

	// Without --primary, the configuration is refused with the fix.
	resp := a.Handle(context.Background(), req)
	if resp.Error == nil || resp.Error.Code != codeBadRequest || !strings.Contains(resp.Error.Msg, "--primary") {
		t.Fatalf("without a primary network: %+v", resp.Error)
	}
	p := &fakePrimary{}
	a.opts.Primary = p
	for _, cmd := range []string{"ADD", "CHECK", "DEL"} {
		req.Command = cmd
		if resp := a.Handle(context.Background(), req); resp.Error != nil {
			t.Fatalf("%s: %+v", cmd, resp.Error)
		}
	}
	if strings.Join(p.got, " ") != "ADD CHECK DEL" {
		t.Errorf("handed %v", p.got)
	}
	// The user's input to fix is a bad request; anything else the agent's failure.
	for _, tc := range []struct {
		err  error
		code uint
	}{{badInput{}, codeBadRequest}, {errors.New("netlink: no such device"), codeAgentFailure}} {
		p.err = tc.err
		req.Command = "ADD"
		if resp := a.Handle(context.Background(), req); resp.Error == nil || resp.Error.Code != tc.code {
			t.Errorf("%v: got %+v, want code %d", tc.err, resp.Error, tc.code)
		}
	}
}

// The primary network's rules go into the node's one table, with underlay
// admission's.
func TestPrimaryRulesInTable(t *testing.T) {
	a, tb, _ := underlayAgent(t, interceptor.Funcs{})
	a.opts.Primary = &fakePrimary{}
	if _, err := a.syncUnderlay(context.Background(), underlayKey); err != nil {
		t.Fatal(err)
	}
	got := tb.sets[len(tb.sets)-1]
	for _, want := range []string{"chain input", `chain isolation {`, `iifname "sbp*" ct state established,related accept`} {
		if !strings.Contains(got, want) {
			t.Errorf("table lacks %q:\n%s", want, got)
		}
	}
}
