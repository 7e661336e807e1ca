package portal

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"sync"
	"time"
)

// viewer is who a session acts for: an owner (a user) or an admin.
type viewer struct {
	Name  string
	Admin bool
}

// actor names the viewer in the audit log.
func (v viewer) actor() string {
	if v.Admin {
		return "portal/admin/" + v.Name
	}
	return "portal/owner/" + v.Name
}

type session struct {
	viewer
	csrf    string
	expires time.Time
}

// grants holds the portal's short-lived secrets: login challenges,
// one-time links and sessions, each keyed by the SHA-256 of the secret so
// that a dump of the map holds nothing usable. It is safe for concurrent
// use; expired entries are dropped as they are met and by sweep.
type grants struct {
	now func() time.Time

	mu         sync.Mutex
	challenges map[[32]byte]challenge
	links      map[[32]byte]link
	sessions   map[[32]byte]session
}

type challenge struct {
	user    string
	expires time.Time
}

type link struct {
	user    string
	expires time.Time
}

func newGrants(now func() time.Time) *grants {
	return &grants{now: now, challenges: map[[32]byte]challenge{}, links: map[[32]byte]link{}, sessions: map[[32]byte]session{}}
}

// secret returns 32 random bytes, base64url.
func secret() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func hashOf(s string) [32]byte { return sha256.Sum256([]byte(s)) }

// newChallenge returns a challenge for user, valid for ttl, or false when
// maxPending challenges wait.
func (g *grants) newChallenge(user string, ttl time.Duration) (string, bool) {
	c := secret()
	g.mu.Lock()
	defer g.mu.Unlock()
	g.sweepLocked()
	if len(g.challenges) >= maxPending {
		return "", false
	}
	g.challenges[hashOf(c)] = challenge{user: user, expires: g.now().Add(ttl)}
	return c, true
}

// spendChallenge reports whether c is a live challenge issued for user,
// and removes it: a challenge signs in once.
func (g *grants) spendChallenge(c, user string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	k := hashOf(c)
	ch, ok := g.challenges[k]
	if !ok || ch.user != user {
		return false
	}
	delete(g.challenges, k)
	return g.now().Before(ch.expires)
}

// newLink returns a one-time login code for user, valid for ttl, or false
// when maxPending links wait.
func (g *grants) newLink(user string, ttl time.Duration) (string, bool) {
	c := secret()
	g.mu.Lock()
	defer g.mu.Unlock()
	g.sweepLocked()
	if len(g.links) >= maxPending {
		return "", false
	}
	g.links[hashOf(c)] = link{user: user, expires: g.now().Add(ttl)}
	return c, true
}

// peekLink returns the user of a live link without spending it.
func (g *grants) peekLink(code string) (string, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	l, ok := g.links[hashOf(code)]
	if !ok || !g.now().Before(l.expires) {
		return "", false
	}
	return l.user, true
}

// spendLink returns the user of a live link and removes it.
func (g *grants) spendLink(code string) (string, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	k := hashOf(code)
	l, ok := g.links[k]
	if !ok {
		return "", false
	}
	delete(g.links, k)
	return l.user, g.now().Before(l.expires)
}

// newSession starts a session for v and returns its id (the cookie's
// value) and the session.
func (g *grants) newSession(v viewer, ttl time.Duration) (string, session) {
	id := secret()
	s := session{viewer: v, csrf: secret(), expires: g.now().Add(ttl)}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.sessions[hashOf(id)] = s
	return id, s
}

// session returns the live session of id.
func (g *grants) session(id string) (session, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	k := hashOf(id)
	s, ok := g.sessions[k]
	if ok && !g.now().Before(s.expires) {
		delete(g.sessions, k)
		return session{}, false
	}
	return s, ok
}

func (g *grants) endSession(id string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.sessions, hashOf(id))
}

// sweepLocked drops expired entries; g.mu is held.
func (g *grants) sweepLocked() {
	now := g.now()
	for k, c := range g.challenges {
		if !now.Before(c.expires) {
			delete(g.challenges, k)
		}
	}
	for k, l := range g.links {
		if !now.Before(l.expires) {
			delete(g.links, k)
		}
	}
	for k, s := range g.sessions {
		if !now.Before(s.expires) {
			delete(g.sessions, k)
		}
	}
}

// sameSecret compares two secrets in constant time.
func sameSecret(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
