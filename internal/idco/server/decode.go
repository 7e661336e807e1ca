package server

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
)

// decode reads a JSON body of at most MaxBodyBytes into v, answering the
// request itself when it cannot. It is strict (see checkJSON): what the
// IDCO acts on is what any other JSON reader of the same body would see.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			writeError(w, http.StatusRequestEntityTooLarge, "TooLarge", "request body exceeds 1 MiB")
			return false
		}
		writeError(w, http.StatusBadRequest, "Invalid", "read body: "+err.Error())
		return false
	}
	if err := checkJSON(body, reflect.TypeOf(v)); err != nil {
		writeError(w, http.StatusBadRequest, "Invalid", "decode JSON body: "+err.Error())
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "Invalid", "decode JSON body: "+err.Error())
		return false
	}
	return true
}

// checkJSON walks the JSON document data along the Go type t and refuses
// what encoding/json would let through without a word: a member name that
// is not exactly a field's JSON name (encoding/json matches names without
// regard to case), a member given twice in one object (it keeps the last),
// and anything after the document (Decoder.Decode stops at its end). It
// also names the place where an object or an array is not where t has one.
// Scalars are left to encoding/json.
func checkJSON(data []byte, t reflect.Type) error {
	d := json.NewDecoder(bytes.NewReader(data))
	if err := walkJSON(d, t, ""); err != nil {
		return err
	}
	if _, err := d.Token(); err != io.EOF {
		return errors.New("trailing data after the JSON document: send exactly one object")
	}
	return nil
}

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// walkJSON reads one JSON value from d, checking it against t (nil: any).
// A type that decodes itself (time.Time, ...) takes any value here.
func walkJSON(d *json.Decoder, t reflect.Type, path string) error {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t != nil && (reflect.PointerTo(t).Implements(jsonUnmarshaler) || reflect.PointerTo(t).Implements(textUnmarshaler)) {
		t = nil
	}
	tok, err := d.Token()
	if err != nil {
		return fmt.Errorf("%s: bad JSON: %w", where(path), err)
	}
	switch tok {
	case json.Delim('{'):
		return walkObject(d, t, path)
	case json.Delim('['):
		var elem reflect.Type
		if t != nil {
			switch t.Kind() {
			case reflect.Slice, reflect.Array:
				elem = t.Elem()
			case reflect.Interface:
			default:
				return fmt.Errorf("%s: want %s, got a JSON array", where(path), kindName(t))
			}
		}
		for i := 0; d.More(); i++ {
			if err := walkJSON(d, elem, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		_, err := d.Token()
		return err
	}
	if t != nil && t.Kind() == reflect.Struct {
		return fmt.Errorf("%s: want a JSON object", where(path))
	}
	return nil
}

func walkObject(d *json.Decoder, t reflect.Type, path string) error {
	var fields map[string]reflect.Type
	var elem reflect.Type
	if t != nil {
		switch t.Kind() {
		case reflect.Struct:
			fields = jsonFields(t)
		case reflect.Map:
			elem = t.Elem()
		case reflect.Interface:
		default:
			return fmt.Errorf("%s: want %s, got a JSON object", where(path), kindName(t))
		}
	}
	seen := map[string]bool{}
	for d.More() {
		tok, err := d.Token()
		if err != nil {
			return fmt.Errorf("%s: bad JSON: %w", where(path), err)
		}
		name, _ := tok.(string)
		if seen[name] {
			return fmt.Errorf("%s: duplicate field %q: give each field once", where(path), name)
		}
		seen[name] = true
		ft := elem
		if fields != nil {
			f, ok := fields[name]
			if !ok {
				return unknownField(path, name, fields)
			}
			ft = f
		}
		if err := walkJSON(d, ft, join(path, name)); err != nil {
			return err
		}
	}
	_, err := d.Token()
	return err
}

// jsonFields maps the JSON names of t's fields to their types, as
// encoding/json names them (tag name, else the Go name; embedded structs
// without a tag flattened).
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for f := range t.Fields() {
		tag := f.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		switch {
		case name == "-" && tag == "-":
			continue
		case f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct:
			for n, ft := range jsonFields(f.Type) {
				out[n] = ft
			}
			continue
		case !f.IsExported():
			continue
		case name == "":
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}

func unknownField(path, name string, fields map[string]reflect.Type) error {
	for f := range fields {
		if strings.EqualFold(f, name) {
			return fmt.Errorf("%s: field %q is not %q: JSON field names are case-sensitive", where(path), name, f)
		}
	}
	return fmt.Errorf("%s: unknown field %q", where(path), name)
}

func kindName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "a JSON object"
	case reflect.Slice, reflect.Array:
		return "a JSON array"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	}
	return "a number"
}

func where(path string) string {
	if path == "" {
		return "body"
	}
	return path
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}
