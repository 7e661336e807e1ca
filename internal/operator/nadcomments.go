package operator

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Seed 000's example NetworkAttachmentDefinition comments its access list
// out with "#" lines inside spec.config. That is not JSON, and Multus,
// which reads spec.config for every pod that names the NAD, cannot parse
// it. The operator removes such comments from a NAD whose config then is a
// valid config of ours, keeps the original in an annotation and says so in
// an event: nothing the user wrote is lost, and the NAD works as written.

// AnnotationOriginalConfig keeps a NAD's spec.config as the user wrote it,
// when the operator removed comments from it.
const AnnotationOriginalConfig = "switchboard.dev/original-config"

// ReasonCommentsRemoved is the event on a NAD whose comments were removed.
const ReasonCommentsRemoved = "ConfigCommentsRemoved"

// firstComment is the index of the first "#" outside JSON strings in s,
// or -1.
func firstComment(s string) int {
	inString, escaped := false, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '#':
			return i
		}
	}
	return -1
}

// stripComments removes "#" comments (from "#" to the end of the line,
// outside JSON strings) from config. It returns the result and the number
// of comments removed.
func stripComments(config string) (string, int) {
	var b strings.Builder
	n := 0
	for {
		i := firstComment(config)
		if i < 0 {
			b.WriteString(config)
			return b.String(), n
		}
		n++
		b.WriteString(config[:i])
		end := strings.IndexByte(config[i:], '\n')
		if end < 0 {
			return b.String(), n
		}
		config = config[i+end:] // a line starts outside strings
	}
}

// stripFoldedComments removes "#" comments from a config whose lines were
// folded into one: YAML turns the line breaks of a multi-line quoted
// scalar, like seed 000's spec.config, into spaces, so where a comment
// ended is lost. Each comment then runs to the next "#", and the last one
// to the shortest end (a space) that leaves valid JSON. ok is false if no
// end does.
func stripFoldedComments(config string) (clean string, n int, ok bool) {
	first := firstComment(config)
	if first < 0 {
		return "", 0, false
	}
	prefix := config[:first]
	rest := config[first:]
	for {
		n++
		next := strings.IndexByte(rest[1:], '#')
		if next < 0 {
			break
		}
		rest = rest[1+next:]
	}
	for end := 1; end <= len(rest); end++ {
		if end < len(rest) && rest[end] != ' ' {
			continue
		}
		if c := prefix + rest[end:]; json.Valid([]byte(c)) {
			return c, n, true
		}
	}
	return "", 0, false
}

// uncomment returns config without its comments if config is not JSON but
// is once they are removed; ok is false otherwise.
func uncomment(config string) (clean string, comments int, ok bool) {
	if json.Valid([]byte(config)) {
		return "", 0, false
	}
	clean, comments = stripComments(config)
	if comments == 0 {
		return "", 0, false
	}
	if json.Valid([]byte(clean)) {
		return clean, comments, true
	}
	if !strings.Contains(strings.TrimSpace(config), "\n") {
		return stripFoldedComments(config)
	}
	return "", 0, false
}

// removeComments rewrites nad's spec.config to clean, keeping the original
// in AnnotationOriginalConfig, and records an event.
func (r *NADReconciler) removeComments(ctx context.Context, nad *unstructured.Unstructured, original, clean string, comments int) error {
	patch, err := json.Marshal(map[string]any{
		"metadata": map[string]any{
			"resourceVersion": nad.GetResourceVersion(),
			"annotations":     map[string]string{AnnotationOriginalConfig: original},
		},
		"spec": map[string]any{"config": clean},
	})
	if err != nil {
		return err
	}
	if err := r.Client.Patch(ctx, nad, client.RawPatch("application/merge-patch+json", patch)); err != nil {
		return fmt.Errorf("remove the comments of NetworkAttachmentDefinition %s/%s: %w", nad.GetNamespace(), nad.GetName(), err)
	}
	r.Recorder.Eventf(nad, corev1.EventTypeNormal, ReasonCommentsRemoved,
		"spec.config had %d \"#\" comment(s), which are not JSON and which Multus cannot read: removed them; the config as written is kept in annotation %s",
		comments, AnnotationOriginalConfig)
	return nil
}
