package podgate

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/record"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"switchboard/api/v1alpha1"
	"switchboard/internal/podnet"
)

// +kubebuilder:rbac:groups="",resources=pods,verbs=get;list;watch;update
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=switchboard.dev,resources=networks,verbs=get;list;watch
// +kubebuilder:rbac:groups=k8s.cni.cncf.io,resources=network-attachment-definitions,verbs=get;list;watch

// Lifter is the operator's reconciler of gated pods: it lifts the gate
// once the pod's networks are published, when their Networks are gone, or
// after MaxWait.
type Lifter struct {
	Client   client.Client // writes; reads of pods go through Pods
	Pods     client.Reader // gated pods only (see Setup)
	Networks Networks
	Recorder record.EventRecorder
	Now      func() time.Time
}

// Reconcile implements reconcile.Reconciler.
func (l *Lifter) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var pod corev1.Pod
	if err := l.Pods.Get(ctx, req.NamespacedName, &pod); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !Gated(&pod) {
		if _, ok := pod.Labels[Label]; !ok {
			return ctrl.Result{}, nil
		}
		lift(&pod) // someone lifted the gate by hand: the label goes too
		return ctrl.Result{}, l.update(ctx, &pod)
	}
	waiting, err := Unpublished(ctx, l.Networks, &pod)
	if err != nil {
		return ctrl.Result{}, err
	}
	age := l.Now().Sub(pod.CreationTimestamp.Time)
	switch {
	case len(waiting) == 0:
		lift(&pod)
		if err := l.update(ctx, &pod); err != nil {
			return ctrl.Result{}, err
		}
		l.Recorder.Eventf(&pod, corev1.EventTypeNormal, "NetworksPublished",
			"the networks the pod names are published: scheduling it (held %s)", age.Round(time.Millisecond))
		return ctrl.Result{}, nil
	case age >= MaxWait:
		lift(&pod)
		if err := l.update(ctx, &pod); err != nil {
			return ctrl.Result{}, err
		}
		l.Recorder.Eventf(&pod, corev1.EventTypeWarning, "NetworksNotPublished",
			"network %s still has no NetworkAttachmentDefinition after %s: scheduling the pod anyway; see why with kubectl describe network %s",
			names(waiting), MaxWait, waiting[0].Name)
		return ctrl.Result{}, nil
	}
	l.Recorder.Eventf(&pod, corev1.EventTypeNormal, "WaitingForNetworks",
		"holding the pod until network %s is published (its NetworkAttachmentDefinition), at most %s", names(waiting), MaxWait)
	return ctrl.Result{RequeueAfter: MaxWait - age}, nil
}

func (l *Lifter) update(ctx context.Context, pod *corev1.Pod) error {
	if err := l.Client.Update(ctx, pod); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("lift the scheduling gate of pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	return nil
}

func names(refs []podnet.Ref) string {
	s := make([]string, len(refs))
	for i, r := range refs {
		s[i] = r.String()
	}
	return strings.Join(s, ", ")
}

// Setup adds the Lifter to mgr with a cache of its own that holds only
// gated pods (by Label), so that the operator does not cache every pod of
// the cluster; a NAD or a Network that appears, changes or goes brings
// back the gated pods that name it.
func Setup(mgr ctrl.Manager) error {
	pods, err := cache.New(mgr.GetConfig(), cache.Options{
		Scheme: mgr.GetScheme(), Mapper: mgr.GetRESTMapper(),
		DefaultLabelSelector: labels.SelectorFromSet(labels.Set{Label: "true"}),
	})
	if err != nil {
		return fmt.Errorf("create the cache of gated pods: %w", err)
	}
	if err := mgr.Add(pods); err != nil {
		return fmt.Errorf("add the cache of gated pods: %w", err)
	}
	l := &Lifter{
		Client: mgr.GetClient(), Pods: pods, Networks: ClientNetworks{Reader: mgr.GetCache()},
		Recorder: mgr.GetEventRecorderFor("switchboard-operator"), Now: time.Now,
	}
	naming := handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, o client.Object) []reconcile.Request {
		return l.naming(ctx, podnet.Ref{Namespace: o.GetNamespace(), Name: o.GetName()})
	})
	return ctrl.NewControllerManagedBy(mgr).
		Named("podgate").
		WatchesRawSource(source.Kind(pods, &corev1.Pod{}, &handler.TypedEnqueueRequestForObject[*corev1.Pod]{})).
		WatchesRawSource(source.Kind(mgr.GetCache(), client.Object(newNAD()), naming)).
		WatchesRawSource(source.Kind(mgr.GetCache(), client.Object(&v1alpha1.Network{}), naming)).
		Complete(l)
}

// naming returns the gated pods that name the network ref.
func (l *Lifter) naming(ctx context.Context, ref podnet.Ref) []reconcile.Request {
	var list corev1.PodList
	if err := l.Pods.List(ctx, &list); err != nil {
		logf.FromContext(ctx).Error(err, "list gated pods", "network", ref.String())
		return nil
	}
	var reqs []reconcile.Request
	for _, p := range list.Items {
		refs, _ := podnet.Networks(p.Annotations[podnet.Annotation], p.Namespace)
		for _, r := range refs {
			if r == ref {
				reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&p)})
				break
			}
		}
	}
	return reqs
}
