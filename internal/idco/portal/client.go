package portal

import (
	"bytes"
	"context"
	"crypto"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"switchboard/internal/token"
)

// RequestLink signs in as user at the IDCO at server (https://host:port)
// and returns a one-time link to open in a browser: it fetches a
// challenge, signs it with key (the private half of a key registered for
// user at the IDCO) and trades the signature for the link. hc must trust
// the IDCO's certificate; no client certificate is needed.
func RequestLink(ctx context.Context, hc *http.Client, server, user string, key crypto.Signer) (LinkResponse, error) {
	server = strings.TrimSuffix(server, "/")
	var ch ChallengeResponse
	if err := postJSON(ctx, hc, server+"/portal/api/challenge", ChallengeRequest{User: user}, &ch); err != nil {
		return LinkResponse{}, fmt.Errorf("ask for a login challenge: %w", err)
	}
	raw, err := token.Sign(token.Claims{Network: LoginAudience, User: user, Nonce: ch.Challenge, Expiry: ch.Expires}, key)
	if err != nil {
		return LinkResponse{}, fmt.Errorf("sign the login challenge: %w", err)
	}
	var l LinkResponse
	if err := postJSON(ctx, hc, server+"/portal/api/link", LinkRequest{Token: raw}, &l); err != nil {
		return LinkResponse{}, fmt.Errorf("trade the signed challenge for a link: %w", err)
	}
	return l, nil
}

func postJSON(ctx context.Context, hc *http.Client, url string, in, out any) error {
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var e apiError
		if json.NewDecoder(resp.Body).Decode(&e) == nil && e.Error != "" {
			return fmt.Errorf("%s: %s", resp.Status, e.Error)
		}
		return fmt.Errorf("%s from %s: is this the IDCO, with its portal on?", resp.Status, url)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}
