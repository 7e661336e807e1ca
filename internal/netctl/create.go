package netctl

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"switchboard/api/v1alpha1"
)

// FieldManager is the server-side apply field manager of "network create".
const FieldManager = "switchboard-network"

// CreateOptions tune Create.
type CreateOptions struct {
	// Wait is how long to wait for each Network to be Ready; 0 does not.
	Wait time.Duration
	// DryRun prints the YAML that would be applied per context and
	// contacts no cluster.
	DryRun bool
}

// Outcome is what applying the Network did in one context.
type Outcome string

const (
	Created   Outcome = "created"
	Updated   Outcome = "updated"
	Unchanged Outcome = "unchanged"
)

// applied is one context's result.
type applied struct {
	outcome Outcome
	key     client.ObjectKey
	err     error
	view    *NetworkView // after the wait
}

// Create makes the Network of spec in every cluster with server-side apply
// (so it is idempotent: a second run with the same flags changes nothing),
// prints a line per context saying what happened, then, with opts.Wait,
// waits for the Networks to be Ready and prints their status. It returns an
// error naming the contexts that failed, or whose Network is not Ready
// after the wait; the others are done and reported regardless.
func Create(ctx context.Context, clusters []Cluster, spec Spec, opts CreateOptions, out io.Writer) error {
	if opts.DryRun {
		return printDryRun(clusters, spec, out)
	}
	results := make([]applied, len(clusters))
	forEach(clusters, func(i int, c Cluster) { results[i] = apply(ctx, c, spec) })

	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CONTEXT\tNETWORK\tRESULT")
	var failed []string
	for i, c := range clusters {
		r := results[i]
		if r.err != nil {
			failed = append(failed, c.Context)
			fmt.Fprintf(tw, "%s\t%s\tfailed: %v\n", c.Context, r.key, r.err)
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", c.Context, r.key, r.outcome)
	}
	tw.Flush()
	if opts.Wait > 0 && len(failed) < len(clusters) {
		fmt.Fprintf(out, "\nwaiting up to %s for each network to be Ready\n", opts.Wait)
		forEach(clusters, func(i int, c Cluster) {
			if results[i].err == nil {
				v := waitReady(ctx, c.Client, results[i].key, opts.Wait)
				results[i].view = &v
			}
		})
		failed = append(failed, printReadiness(out, clusters, results)...)
	}
	if len(failed) > 0 {
		return fmt.Errorf("network %s: failed in %d of %d contexts (see above): %s", spec.Name, len(failed), len(clusters), strings.Join(failed, ", "))
	}
	return nil
}

// forEach runs f for every cluster at once and returns when all are done.
func forEach(clusters []Cluster, f func(int, Cluster)) {
	var wg sync.WaitGroup
	for i, c := range clusters {
		wg.Go(func() { f(i, c) })
	}
	wg.Wait()
}

func apply(ctx context.Context, c Cluster, spec Spec) applied {
	ns := c.namespaceOr(spec.Namespace)
	r := applied{key: client.ObjectKey{Namespace: ns, Name: spec.Name}}
	if c.Err != nil {
		r.err = c.Err
		return r
	}
	var before v1alpha1.Network
	err := c.Client.Get(ctx, r.key, &before)
	if err != nil && !apierrors.IsNotFound(err) {
		r.err = fmt.Errorf("read network %s: %w", r.key, err)
		return r
	}
	exists := err == nil
	obj := spec.object(c.Context, ns)
	if err := c.Client.Apply(ctx, client.ApplyConfigurationFromUnstructured(obj), client.FieldOwner(FieldManager), client.ForceOwnership); err != nil {
		r.err = fmt.Errorf("apply network %s: %w", r.key, err)
		if apierrors.IsNotFound(err) {
			r.err = fmt.Errorf("%w: create the namespace first (kubectl --context %s create namespace %s)", r.err, c.Context, ns)
		}
		return r
	}
	switch {
	case !exists:
		r.outcome = Created
	case obj.GetResourceVersion() != before.ResourceVersion:
		r.outcome = Updated
	default:
		r.outcome = Unchanged
	}
	return r
}

// waitReady polls the Network until it is settled or timeout passes, and
// returns what it last saw.
func waitReady(ctx context.Context, c client.Client, key client.ObjectKey, timeout time.Duration) NetworkView {
	var v NetworkView
	var lastErr error
	_ = wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		var net v1alpha1.Network
		if lastErr = c.Get(ctx, key, &net); lastErr != nil {
			return false, nil
		}
		v = viewOf(&net)
		return v.settled(), nil
	})
	if v.Name == "" && lastErr != nil {
		v.Message = lastErr.Error()
	}
	return v
}

// printReadiness prints the status table after the wait and returns the
// contexts whose Network is not Ready.
func printReadiness(out io.Writer, clusters []Cluster, results []applied) []string {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	defer tw.Flush()
	fmt.Fprintln(tw, "CONTEXT\tREADY\tREASON\tVNI\tINTER-CLUSTER VNI\tMESSAGE")
	var notReady []string
	for i, c := range clusters {
		v := results[i].view
		if v == nil {
			continue
		}
		ready, msg := v.Ready, v.Message
		if ready == "" {
			ready = "-"
			if msg == "" {
				msg = "no status from the operator yet: is switchboard-operator running in this cluster?"
			}
		}
		if v.Ready != "True" {
			notReady = append(notReady, c.Context)
		}
		fmt.Fprintf(tw, "%s\t%s\t%v\t%v\t%v\t%s\n", c.Context, ready, dash(v.Reason), dash(v.VNI), dash(v.InterClusterVNI), msg)
	}
	return notReady
}

func printDryRun(clusters []Cluster, spec Spec, out io.Writer) error {
	for i, c := range clusters {
		b, err := yaml.Marshal(spec.object(c.Context, c.namespaceOr(spec.Namespace)).Object)
		if err != nil {
			return fmt.Errorf("encode network for context %q: %w", c.Context, err)
		}
		if i > 0 {
			fmt.Fprintln(out, "---")
		}
		fmt.Fprintf(out, "# context %s\n%s", c.Context, b)
	}
	return nil
}
