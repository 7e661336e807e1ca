package netctl

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"switchboard/api/v1alpha1"
)

// requestTimeout bounds each API request when the kubeconfig sets no
// timeout, so that an unreachable cluster is reported rather than waited on.
const requestTimeout = 15 * time.Second

// Cluster is one kubeconfig context and a client for the cluster it names.
type Cluster struct {
	// Context is the kubeconfig context's name.
	Context string
	// Namespace is the context's namespace, "default" if it sets none.
	Namespace string
	// Client talks to the cluster; nil when Err is set.
	Client client.Client
	// Err says why no client could be made for this context.
	Err error
}

// namespaceOr returns ns, or the context's namespace when ns is empty.
func (c Cluster) namespaceOr(ns string) string {
	if ns != "" {
		return ns
	}
	return c.Namespace
}

// Config says which clusters to open.
type Config struct {
	// Kubeconfig is a kubeconfig file (the --kubeconfig flag); empty loads
	// $KUBECONFIG or ~/.kube/config, as kubectl does.
	Kubeconfig string
	// Contexts are the kubeconfig contexts, one per cluster (--contexts).
	Contexts []string
	// Context is a single context (kubectl's --context); it may not be
	// given together with Contexts. With neither, the kubeconfig's
	// current-context is the one cluster, as for kubectl.
	Context string
	// Warnings receives the API servers' warnings; nil discards them.
	Warnings io.Writer
}

// Open returns a Cluster per context, in the order given (see Config for
// how they are chosen). It contacts no cluster. It fails as a whole when no
// context is given or current, a context is given twice, or the kubeconfig
// lacks one (the error lists those it has);
// a context whose client cannot be built is returned with Err set, so that
// the other contexts still work.
func Open(cfg Config) ([]Cluster, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = cfg.Kubeconfig
	raw, err := rules.Load()
	if err != nil {
		return nil, fmt.Errorf("load kubeconfig: %w", err)
	}
	known := make([]string, 0, len(raw.Contexts))
	for name := range raw.Contexts {
		known = append(known, name)
	}
	slices.Sort(known)
	contexts, err := pickContexts(cfg, raw.CurrentContext)
	if err != nil {
		return nil, err
	}
	if err := checkContexts(contexts, known, kubeconfigName(rules)); err != nil {
		return nil, err
	}
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, v1alpha1.AddToScheme} {
		if err := add(scheme); err != nil {
			return nil, err
		}
	}
	clusters := make([]Cluster, len(contexts))
	for i, name := range contexts {
		clusters[i] = openContext(clientcmd.NewNonInteractiveClientConfig(*raw, name, &clientcmd.ConfigOverrides{}, rules), name, scheme, cfg.Warnings)
	}
	return clusters, nil
}

// openContext makes the Cluster of context name, whose client config is cc.
func openContext(cc clientcmd.ClientConfig, name string, scheme *runtime.Scheme, warnings io.Writer) Cluster {
	c := Cluster{Context: name, Namespace: "default"}
	if ns, _, err := cc.Namespace(); err == nil && ns != "" {
		c.Namespace = ns
	}
	rc, err := cc.ClientConfig()
	if err != nil {
		c.Err = fmt.Errorf("context %q: %w", name, err)
		return c
	}
	if rc.Timeout == 0 {
		rc.Timeout = requestTimeout
	}
	if warnings != nil {
		rc.WarningHandler = rest.NewWarningWriter(warnings, rest.WarningWriterOptions{Deduplicate: true})
	} else {
		rc.WarningHandler = rest.NoWarnings{}
	}
	if c.Client, err = client.New(rc, client.Options{Scheme: scheme}); err != nil {
		c.Err = fmt.Errorf("context %q: make a client: %w", name, err)
	}
	return c
}

// pickContexts applies kubectl's convention: --context names one cluster,
// --contexts several, and with neither the kubeconfig's current context
// (current, "" when it has none) is the one cluster.
func pickContexts(cfg Config, current string) ([]string, error) {
	switch {
	case cfg.Context != "" && len(cfg.Contexts) > 0:
		return nil, errors.New("--context and --contexts are both given: use --context for one cluster or --contexts a,b for several")
	case cfg.Context != "":
		return []string{cfg.Context}, nil
	case len(cfg.Contexts) > 0:
		return cfg.Contexts, nil
	case current != "":
		return []string{current}, nil
	}
	return nil, nil
}

// checkContexts refuses an empty list, repeats and contexts not in known.
func checkContexts(contexts, known []string, kubeconfig string) error {
	have := "it has none"
	if len(known) > 0 {
		have = "it has " + strings.Join(known, ", ")
	}
	if len(contexts) == 0 {
		return fmt.Errorf("--contexts is empty and the kubeconfig has no current-context: name the kubeconfig context of each cluster, comma-separated, or one with --context (%s: %s)", kubeconfig, have)
	}
	var errs []error
	for i, name := range contexts {
		switch {
		case slices.Contains(contexts[:i], name):
			errs = append(errs, fmt.Errorf("--contexts names %q twice: name each cluster once", name))
		case !slices.Contains(known, name):
			errs = append(errs, fmt.Errorf("context %q is not in the kubeconfig (%s): %s", name, kubeconfig, have))
		}
	}
	return errors.Join(errs...)
}

// kubeconfigName says which file(s) the kubeconfig came from, for errors.
func kubeconfigName(rules *clientcmd.ClientConfigLoadingRules) string {
	if rules.ExplicitPath != "" {
		return rules.ExplicitPath
	}
	return strings.Join(rules.GetLoadingPrecedence(), ":")
}
