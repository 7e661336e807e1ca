package operator_test

import (
	"fmt"
	"testing"
	"time"

	"switchboard/api/v1alpha1"
)

// TestProviderWatchStopsWithLastNetwork: the operator watches a provider
// (long-polls its authorizations) while a Network names it, and once the
// last such Network is gone it stops and closes its client: no connection
// to those providers stays open. Each Network here names its own provider
// (the test provider behind a proxy of its own, so a distinct domain).
func TestProviderWatchStopsWithLastNetwork(t *testing.T) {
	ns := needEnv(t)
	suffix := ns[len(ns)-5:]
	const count = 10
	pxs := make([]*proxy, count)
	names := make([]string, count)
	for i := range count {
		pxs[i] = startProxy(t, provider.domain)
		names[i] = fmt.Sprintf("watched%d-%s", i, suffix)
		n := extSpec(ns, names[i])
		n.Spec.Provider.Domain = pxs[i].addr
		create(t, n)
	}
	served := make([]int64, count)
	for i := range count {
		waitCondition(t, ns, names[i], v1alpha1.ConditionReady, v1alpha1.ReasonRegistered)
		served[i] = pxs[i].served.Load()
	}
	// Positive control: each provider is watched, so answers keep coming
	// through its proxy after the registration's.
	eventuallyWithin(t, 2*time.Minute, "every provider watched", func() error {
		for i := range count {
			if pxs[i].served.Load() == served[i] {
				return fmt.Errorf("nothing came through the proxy of %s since its registration", names[i])
			}
		}
		return nil
	})

	for i := range count {
		deleteNetwork(t, ns, names[i])
	}
	// Within a minute: ample for what takes a moment, and less than the
	// transport's own idle timeout (90s), so only closing the clients gets
	// there.
	eventuallyWithin(t, time.Minute, "no connection left to providers that no Network uses", func() error {
		for i := range count {
			if n := pxs[i].open(); n > 0 {
				return fmt.Errorf("the proxy of deleted Network %s still carries %d connection end(s)", names[i], n)
			}
		}
		return nil
	})
}
