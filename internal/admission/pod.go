package admission

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"unicode"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sbv1 "switchboard/api/v1alpha1"
	"switchboard/internal/ipam"
	"switchboard/internal/podnet"
)

// Limits on one pod's annotation: far above any real pod, low enough that
// a hostile annotation costs the webhook little.
const (
	MaxSelections   = 64 // elements of the networks annotation
	MaxIPsPerSelect = 16 // "ips" of one element
)

// maxIfName is the longest interface name the kernel takes (IFNAMSIZ-1 bytes).
const maxIfName = 15

// Validator makes the webhook's decisions. It reads Networks,
// Attachments, pods and NetworkQuotas through Reader (the operator's
// cache); it is safe for concurrent use if Reader is.
type Validator struct {
	Reader client.Reader
}

// element names the i-th element of the annotation in messages.
func element(i int, s podnet.Selection) string {
	ref := s.Name
	if s.Namespace != "" {
		ref = s.Namespace + "/" + s.Name
	}
	return fmt.Sprintf("annotation %s element %d (network %s)", podnet.Annotation, i, quote(ref))
}

// ValidatePod checks pod's networks annotation: a *Refusal lists what is
// wrong; any other error is a failure to read the cluster.
func (v *Validator) ValidatePod(ctx context.Context, pod *corev1.Pod) error {
	sels, err := podnet.Parse(pod.Annotations[podnet.Annotation])
	if err != nil {
		return &Refusal{Reasons: []string{fmt.Sprintf("%v: write a JSON list such as [{\"name\": \"net1\", \"interface\": \"eth1\"}] or the short form net1,ns2/net2@eth2", err)}}
	}
	if len(sels) > MaxSelections {
		return &Refusal{Reasons: []string{fmt.Sprintf("annotation %s asks for %d networks, more than %d: split the workload over several pods", podnet.Annotation, len(sels), MaxSelections)}}
	}
	r := &Refusal{}
	ifaces := map[string]int{"eth0": -1, "lo": -1} // the primary interface and loopback are taken
	statics := map[string]int{}                    // "<ns>/<network> <addr>" -> element
	for i, s := range sels {
		el := element(i, s)
		checkNames(r, el, s)
		ifName := s.InterfaceName(i)
		if msg := ifNameProblem(ifName); msg != "" {
			r.add("%s: interface %s %s: pick a name of at most %d bytes without '/', ':' or spaces, such as net%d", el, quote(ifName), msg, maxIfName, i+1)
		} else if j, ok := ifaces[ifName]; ok {
			if j < 0 {
				r.add("%s: interface %s is the pod's own (primary or loopback): set \"interface\" to another name, such as net%d", el, quote(ifName), i+1)
			} else {
				r.add("%s: interface %s is also element %d's: give each element its own \"interface\"", el, quote(ifName), j)
			}
		} else {
			ifaces[ifName] = i
		}
		if s.MAC != "" {
			if _, err := net.ParseMAC(s.MAC); err != nil {
				r.add("%s: \"mac\" %s is not a MAC address: write one such as 02:00:00:00:00:01, or drop \"mac\"", el, quote(s.MAC))
			}
		}
		if len(s.IPs) > MaxIPsPerSelect {
			r.add("%s: \"ips\" lists %d addresses, more than %d: name fewer", el, len(s.IPs), MaxIPsPerSelect)
			continue
		}
		ips, err := podnet.ParseIPs(s.IPs)
		if err != nil {
			r.add("%s: %v", el, err)
			continue
		}
		if err := v.checkNetwork(ctx, r, el, pod, s, ips, statics, i); err != nil {
			return err
		}
	}
	return r.orNil()
}

// checkNames refuses names that no object can have: they would only fail
// later, at ADD, less clearly.
func checkNames(r *Refusal, el string, s podnet.Selection) {
	if errs := validation.IsDNS1123Subdomain(s.Name); len(errs) > 0 {
		r.add("%s: \"name\" is not a valid Network name (%s): use the name of a Network, e.g. net1", el, errs[0])
	}
	if s.Namespace != "" {
		if errs := validation.IsDNS1123Label(s.Namespace); len(errs) > 0 {
			r.add("%s: \"namespace\" is not a valid namespace name (%s): name the Network's namespace, or drop \"namespace\" for the pod's own", el, errs[0])
		}
	}
}

// ifNameProblem says what the kernel would object to in an interface
// name (dev_valid_name), or "".
func ifNameProblem(n string) string {
	switch {
	case n == "":
		return "is empty"
	case len(n) > maxIfName:
		return fmt.Sprintf("is %d bytes long", len(n))
	case n == "." || n == "..":
		return "is not a name"
	case strings.ContainsAny(n, "/:"):
		return "contains '/' or ':'"
	case strings.IndexFunc(n, func(c rune) bool { return unicode.IsSpace(c) || !unicode.IsPrint(c) }) >= 0:
		return "contains a space or an unprintable character"
	}
	return ""
}

// checkNetwork checks the element against its Network, if there is one
// yet: the pod's namespace may use it, and its static addresses are in the
// pool and free.
func (v *Validator) checkNetwork(ctx context.Context, r *Refusal, el string, pod *corev1.Pod, s podnet.Selection, ips []netip.Prefix, statics map[string]int, i int) error {
	ns := s.Namespace
	if ns == "" {
		ns = pod.Namespace
	}
	if validation.IsDNS1123Subdomain(s.Name) != nil || validation.IsDNS1123Label(ns) != nil {
		return nil // refused by checkNames
	}
	var n sbv1.Network
	if err := v.Reader.Get(ctx, client.ObjectKey{Namespace: ns, Name: s.Name}, &n); err != nil {
		if apierrors.IsNotFound(err) {
			return nil // not (yet) a Network: see the package comment
		}
		return fmt.Errorf("get network %s/%s: %w", ns, s.Name, err)
	}
	if err := n.CheckNamespace(pod.Namespace); err != nil {
		r.add("%s: %v", el, err)
		return nil
	}
	var pool *ipam.Pool
	if n.Spec.IPAM != nil {
		p, err := ipam.NewPool(*n.Spec.IPAM)
		if err != nil {
			r.add("%s: network %s/%s is invalid (%v): fix the Network first", el, ns, s.Name, err)
			return nil
		}
		pool = p
	}
	for _, p := range ips {
		addr := p.Addr()
		if pool != nil {
			if err := pool.Check(addr); err != nil {
				r.add("%s: static address %s cannot be used on network %s/%s: %v; pick an address in %s or drop \"ips\"", el, addr, ns, s.Name, err, pool.Prefix())
				continue
			}
		}
		key := ns + "/" + s.Name + " " + addr.String()
		if j, ok := statics[key]; ok {
			r.add("%s: static address %s is also element %d's on the same network: give each interface its own address", el, addr, j)
			continue
		}
		statics[key] = i
		holder, err := v.holder(ctx, ns, s.Name, addr, pod)
		if err != nil {
			return err
		}
		if holder != "" {
			r.add("%s: static address %s on network %s/%s is already used by pod %s: choose another address, or drop \"ips\" to get a free one", el, addr, ns, s.Name, holder)
		}
	}
	return nil
}

// holder returns the pod ("ns/name") other than pod that holds addr on the
// network, or "". An Attachment whose pod is gone (or was recreated) is
// stale: the operator removes it, and it holds nothing.
func (v *Validator) holder(ctx context.Context, ns, network string, addr netip.Addr, pod *corev1.Pod) (string, error) {
	var att sbv1.Attachment
	err := v.Reader.Get(ctx, client.ObjectKey{Namespace: ns, Name: ipam.AttachmentName(network, addr)}, &att)
	if apierrors.IsNotFound(err) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("get attachment of %s on network %s/%s: %w", addr, ns, network, err)
	}
	ref := att.Spec.Pod
	if ref.UID != "" && ref.UID == string(pod.UID) {
		return "", nil
	}
	var p corev1.Pod
	err = v.Reader.Get(ctx, client.ObjectKey{Namespace: ref.Namespace, Name: ref.Name}, &p)
	if apierrors.IsNotFound(err) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("get pod %s/%s: %w", ref.Namespace, ref.Name, err)
	}
	if string(p.UID) != ref.UID {
		return "", nil
	}
	return ref.Namespace + "/" + ref.Name, nil
}
