package agent

import (
	"context"
	"fmt"
	"sync"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	sbv1 "switchboard/api/v1alpha1"
)

// ADD and DEL read this node's attachments from the informer cache, not with
// a live List (a round trip to the API server on every call). The cache lags
// the API server by milliseconds, and within that window only this agent's
// own writes can be missing or outlived: every attachment labelled with this
// node is created and deleted by this node's agent, and the cache has synced
// before the CNI socket opens. So the cache, corrected by what this process
// wrote lately, is exact.

// recentTTL is how long a write is remembered: far longer than any cache lag.
const recentTTL = 2 * time.Minute

// recentWrites remembers the attachments this agent created and deleted
// lately. It is safe for concurrent use.
type recentWrites struct {
	mu      sync.Mutex
	created map[string]recentCreate // by containerID/ifName
	deleted map[string]time.Time    // by namespace/name
}

type recentCreate struct {
	att *sbv1.Attachment
	at  time.Time
}

func newRecentWrites() *recentWrites {
	return &recentWrites{created: map[string]recentCreate{}, deleted: map[string]time.Time{}}
}

func ifaceKey(containerID, ifName string) string { return containerID + "/" + ifName }

// Created records an attachment this agent created.
func (r *recentWrites) Created(att *sbv1.Attachment, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.prune(now)
	r.created[ifaceKey(att.Spec.ContainerID, att.Spec.Interface)] = recentCreate{att: att.DeepCopy(), at: now}
	delete(r.deleted, att.Namespace+"/"+att.Name)
}

// Deleted records an attachment this agent deleted (or found gone).
func (r *recentWrites) Deleted(att *sbv1.Attachment, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.prune(now)
	k := ifaceKey(att.Spec.ContainerID, att.Spec.Interface)
	if c, ok := r.created[k]; ok && c.att.Name == att.Name && c.att.Namespace == att.Namespace {
		delete(r.created, k)
	}
	r.deleted[att.Namespace+"/"+att.Name] = now
}

func (r *recentWrites) prune(now time.Time) {
	for k, c := range r.created {
		if now.Sub(c.at) > recentTTL {
			delete(r.created, k)
		}
	}
	for k, at := range r.deleted {
		if now.Sub(at) > recentTTL {
			delete(r.deleted, k)
		}
	}
}

// Correct returns cached with this agent's recent writes applied: deleted
// attachments removed, created ones added if the cache lacks them. The
// result is newly allocated; cached is not modified.
func (r *recentWrites) Correct(cached []sbv1.Attachment, now time.Time) []sbv1.Attachment {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.prune(now)
	out := make([]sbv1.Attachment, 0, len(cached)+len(r.created))
	seen := map[string]bool{}
	for _, a := range cached {
		k := a.Namespace + "/" + a.Name
		if _, gone := r.deleted[k]; gone {
			continue
		}
		seen[k] = true
		out = append(out, a)
	}
	for _, c := range r.created {
		if k := c.att.Namespace + "/" + c.att.Name; !seen[k] {
			out = append(out, *c.att.DeepCopy())
		}
	}
	return out
}

// localAttachments returns this node's attachments from the cache,
// corrected by this agent's recent writes (see above).
func (a *Agent) localAttachments(ctx context.Context) ([]sbv1.Attachment, error) {
	var list sbv1.AttachmentList
	if err := a.cache.List(ctx, &list, client.MatchingLabels{sbv1.LabelNode: a.opts.NodeName}); err != nil {
		return nil, fmt.Errorf("list attachments of node %s: %w", a.opts.NodeName, err)
	}
	return a.recent.Correct(list.Items, time.Now()), nil
}

// existingAttachment returns this node's attachment for the container and
// interface on the network, if an earlier ADD made it (runtimes retry ADD).
func (a *Agent) existingAttachment(ctx context.Context, namespace, network, containerID, ifName string) (*sbv1.Attachment, error) {
	atts, err := a.localAttachments(ctx)
	if err != nil {
		return nil, err
	}
	for i := range atts {
		if s := atts[i].Spec; atts[i].Namespace == namespace && s.Network == network && s.ContainerID == containerID && s.Interface == ifName {
			return &atts[i], nil
		}
	}
	return nil, nil
}
