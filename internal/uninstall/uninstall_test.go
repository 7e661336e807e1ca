package uninstall

import (
	"context"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
)

func TestCheck(t *testing.T) {
	ds := types.NamespacedName{Namespace: "switchboard-system", Name: "switchboard-edge"}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	live := &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Namespace: ds.Namespace, Name: ds.Name}}
	deleting := interceptor.Funcs{Get: func(ctx context.Context, c client.WithWatch, k client.ObjectKey, o client.Object, opts ...client.GetOption) error {
		if err := c.Get(ctx, k, o, opts...); err != nil {
			return err
		}
		o.SetDeletionTimestamp(&metav1.Time{})
		return nil
	}}
	forbidden := interceptor.Funcs{Get: func(context.Context, client.WithWatch, client.ObjectKey, client.Object, ...client.GetOption) error {
		return apierrors.NewForbidden(schema.GroupResource{Group: "apps", Resource: "daemonsets"}, ds.Name, nil)
	}}
	broken := interceptor.Funcs{Get: func(context.Context, client.WithWatch, client.ObjectKey, client.Object, ...client.GetOption) error {
		return apierrors.NewServiceUnavailable("etcd is down")
	}}
	for _, tc := range []struct {
		name string
		c    client.Client
		ds   types.NamespacedName
		want bool
	}{
		{"running: a restart", fake.NewClientBuilder().WithScheme(scheme).WithObjects(live).Build(), ds, false},
		{"gone", fake.NewClientBuilder().WithScheme(scheme).Build(), ds, true},
		{"being deleted", fake.NewClientBuilder().WithScheme(scheme).WithObjects(live).WithInterceptorFuncs(deleting).Build(), ds, true},
		{"access removed", fake.NewClientBuilder().WithScheme(scheme).WithInterceptorFuncs(forbidden).Build(), ds, true},
		{"API unavailable: keep", fake.NewClientBuilder().WithScheme(scheme).WithInterceptorFuncs(broken).Build(), ds, false},
		{"unknown DaemonSet: keep", fake.NewClientBuilder().WithScheme(scheme).Build(), types.NamespacedName{}, false},
	} {
		got, why := Check(context.Background(), tc.c, tc.ds)
		if got != tc.want || why == "" {
			t.Errorf("%s: Check = %v (%q), want %v with a reason", tc.name, got, why, tc.want)
		}
	}
}
