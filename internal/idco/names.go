package idco

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// The names a request carries, each checked by the rule of what it names.
// They end up in URL paths, SQL rows, logs, audit entries and the edges'
// configuration, so none may hold a slash, "..", white space, control or
// bidirectional-override characters, or be unbounded:
//
//   - clusters, networks, Network and pod names, nodes: Kubernetes object
//     names (RFC 1123 subdomains: lower-case letters, digits, '-' and '.',
//     at most 253 characters), which is what the operator sends and the
//     installer accepts for a cluster name;
//   - namespaces: RFC 1123 labels (no dots, at most 63 characters);
//   - users: letters, digits and . _ @ + -, starting with a letter or
//     digit, no "..", at most 253 characters (so e-mail addresses fit);
//   - edge interfaces: Linux interface names of letters, digits, . _ -,
//     starting with a letter or digit, at most 15 characters.

// checkName checks a Kubernetes object name (cluster, network, name, pod,
// node).
func checkName(field, v string) error {
	return checkKubernetes(field, v, "a Kubernetes object name", validation.IsDNS1123Subdomain)
}

// checkNamespace checks a Kubernetes namespace name.
func checkNamespace(field, v string) error {
	return checkKubernetes(field, v, "a Kubernetes namespace name", validation.IsDNS1123Label)
}

func checkKubernetes(field, v, what string, validate func(string) []string) error {
	if v == "" {
		return invalid("%s is empty: set it", field)
	}
	if errs := validate(v); len(errs) > 0 {
		return invalid("%s %s is not %s: %s", field, shown(v), what, strings.Join(errs, "; "))
	}
	return nil
}

// checkUser checks a user name.
func checkUser(field, v string) error {
	switch {
	case v == "":
		return invalid("%s is empty: set it", field)
	case len(v) > 253:
		return invalid("%s %s is %d characters long: use at most 253", field, shown(v), len(v))
	case !alnum(v[0]) || strings.Contains(v, "..") || strings.IndexFunc(v, notUserChar) >= 0:
		return invalid("%s %s is not a user name: use letters, digits and . _ @ + -, starting with a letter or digit, without \"..\"", field, shown(v))
	}
	return nil
}

// checkInterface checks a Linux network interface name.
func checkInterface(field, v string) error {
	switch {
	case v == "":
		return invalid("%s is empty: set it", field)
	case len(v) > 15:
		return invalid("%s %s is %d characters long: a Linux interface name has at most 15", field, shown(v), len(v))
	case !alnum(v[0]) || strings.IndexFunc(v, notInterfaceChar) >= 0:
		return invalid("%s %s is not an interface name: use letters, digits and . _ -, starting with a letter or digit", field, shown(v))
	}
	return nil
}

// optional applies check to v unless v is empty.
func optional(check func(field, v string) error, field, v string) error {
	if v == "" {
		return nil
	}
	return check(field, v)
}

func alnum(b byte) bool {
	return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9'
}

func notUserChar(r rune) bool {
	return r >= 0x80 || !alnum(byte(r)) && !strings.ContainsRune("._@+-", r)
}

func notInterfaceChar(r rune) bool {
	return r >= 0x80 || !alnum(byte(r)) && !strings.ContainsRune("._-", r)
}

// shown quotes v for an error message, escaping control and bidirectional
// characters and cutting it at 64 bytes.
func shown(v string) string {
	if len(v) > 64 {
		return fmt.Sprintf("%+q...", v[:64])
	}
	return fmt.Sprintf("%+q", v)
}
