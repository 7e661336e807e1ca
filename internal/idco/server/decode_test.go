package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"switchboard/internal/idco/store/storetest"
)

// send makes one request with a raw body as the admin and returns the
// status and the error message of the answer.
func (x *api) send(t *testing.T, method, path, body string) (int, string) {
	t.Helper()
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: x.clients["admin"]}}
	defer hc.CloseIdleConnections()
	req, err := http.NewRequestWithContext(t.Context(), method, x.url+path, strings.NewReader(body))
	must(t, err)
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	must(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	must(t, err)
	var e struct{ Error string }
	_ = json.Unmarshal(b, &e)
	return resp.StatusCode, e.Error
}

func TestDecodeIsStrict(t *testing.T) {
	x := startAPI(t, storetest.SQLite(t))
	if code, msg := x.send(t, "POST", "/v1/users", `{"name":"carol"}`); code != http.StatusNoContent {
		t.Fatalf("a plain request answered %d %q, want 204: every case below is moot", code, msg)
	}
	const reg = "/v1/clusters/a/networks/blue"
	for _, tc := range []struct {
		name, method, path, body, want string
	}{
		{"trailing object", "POST", "/v1/users", `{"name":"carol"}{"name":"mallory"}`, "trailing data"},
		{"trailing garbage", "POST", "/v1/users", `{"name":"carol"} x`, "trailing data"},
		{"trailing array", "POST", "/v1/users", `{"name":"carol"}[]`, "trailing data"},
		{"duplicate key", "POST", "/v1/users", `{"name":"carol","name":"mallory"}`, `duplicate field "name"`},
		{"case variant", "POST", "/v1/users", `{"Name":"carol"}`, `field "Name" is not "name"`},
		{"case variant after the key", "POST", "/v1/users", `{"name":"carol","NAME":"mallory"}`, `field "NAME" is not "name"`},
		{"unknown key", "POST", "/v1/users", `{"name":"carol","admin":true}`, `unknown field "admin"`},
		{"not an object", "POST", "/v1/users", `"carol"`, "body: want a JSON object"},
		{"list not an array", "PUT", reg, `{"namespace":"team","name":"blue","localVNI":7,"accessList":{"user":"alice"}}`, "accessList: want a JSON array"},
		{"nested duplicate", "PUT", reg, `{"namespace":"team","name":"blue","localVNI":7,"accessList":[{"user":"alice","user":"bob","publicKey":"x"}]}`,
			`accessList[0]: duplicate field "user"`},
		{"nested case variant", "PUT", reg, `{"namespace":"team","name":"blue","localVNI":7,"accessList":[{"user":"alice","publicKey":"x","PublicKey":"y"}]}`,
			`accessList[0]: field "PublicKey" is not "publicKey"`},
		{"nested object case variant", "PUT", reg, `{"namespace":"team","name":"blue","localVNI":7,"edge":{"Node":"n1"}}`,
			`edge: field "Node" is not "node"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, msg := x.send(t, tc.method, tc.path, tc.body)
			if code != http.StatusBadRequest || !strings.Contains(msg, tc.want) {
				t.Errorf("%s %s %s answered %d %q, want 400 mentioning %q", tc.method, tc.path, tc.body, code, msg, tc.want)
			}
		})
	}
}
