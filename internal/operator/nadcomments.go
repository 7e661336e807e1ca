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

// stripComments removes "#" comments (from "#" to the end of the line,
// outside JSON strings) from config. It returns the result and the number
// of comments removed.
func stripComments(config string) (string, int) {
	var (
		b        strings.Builder
		n        int
		inString bool
		escaped  bool
	)
	for i := 0; i < len(config); i++ {
		c := config[i]
		switch {
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
			n++
			for i < len(config) && config[i] != '\n' {
				i++
			}
			if i < len(config) {
				b.WriteByte('\n')
			}
			continue
		}
		b.WriteByte(c)
	}
	return b.String(), n
}

// uncomment returns config without its comments if config is not JSON but
// is once they are removed; ok is false otherwise.
func uncomment(config string) (clean string, comments int, ok bool) {
	if json.Valid([]byte(config)) {
		return "", 0, false
	}
	clean, comments = stripComments(config)
	if comments == 0 || !json.Valid([]byte(clean)) {
		return "", 0, false
	}
	return clean, comments, true
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
