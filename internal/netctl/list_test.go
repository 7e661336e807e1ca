package netctl

import (
	"bytes"
	"context"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"switchboard/api/v1alpha1"
)

func TestListPerCluster(t *testing.T) {
	ns := needEnv(t)
	for _, c := range []string{"a", "b"} {
		put(t, c, &v1alpha1.Network{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "red"}, Spec: v1alpha1.NetworkSpec{Type: v1alpha1.VNet}})
	}
	put(t, "a", &v1alpha1.Network{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "blue"}, Spec: v1alpha1.NetworkSpec{Type: v1alpha1.VNet}})
	setStatus(t, "a", getNetwork(t, "a", ns, "blue"), metav1.ConditionTrue, v1alpha1.ReasonReady, "ready", 4097, 0)

	lists := List(context.Background(), open(t, "a", "b", "down"), ns, false)
	var out bytes.Buffer
	if err := WriteList(&out, lists); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	var rows []string
	for _, line := range strings.Split(text, "\n") {
		rows = append(rows, strings.Join(strings.Fields(line), " "))
	}
	text = strings.Join(rows, "\n")
	for _, want := range []string{
		"a " + ns + " blue vnet True 4097 - 0",
		"a " + ns + " red vnet - - - 0",
		"b " + ns + " red vnet - - - 0",
		"error: context down: list networks: ",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("list lacks %q:\n%s", want, text)
		}
	}
	if strings.Index(text, " blue ") > strings.Index(text, " red ") {
		t.Errorf("networks not sorted by name:\n%s", text)
	}
	if err := ListError(lists); err == nil || !strings.Contains(err.Error(), "1 of 3 contexts: down") {
		t.Errorf("ListError = %v", err)
	}
}
