// Package portal is the IDCO's authorization portal (seed 000's "portal de
// autorizaciones"): server-rendered pages, served by the IDCO next to its
// API, where network owners and the IDCO's admins see networks and their
// clusters, access lists, users and keys, active, ended and refused
// authorizations with their reasons and the audit log, and act: grant a
// permission, take one back, revoke a key, end an authorization. Every
// action asks for confirmation first and goes through the same
// idco.Service methods as the admin API and CLI, so it is checked and
// audited the same way; the audit actor is "portal/owner/NAME" or
// "portal/admin/NAME".
//
// Nobody types a password. An owner (a user the admin made owner of a
// network with "switchboard-idco admin owner-add") runs "switchboard
// portal login": it fetches a challenge, signs it with the user's
// registered key (a token for the pseudo-network LoginAudience, which no
// real network can be named) and gets a one-time link valid for LinkTTL.
// Opening the link shows a sign-in button; the POST behind it spends the
// link and starts a session. An admin whose browser holds an admin client
// certificate signs in at /portal/login/certificate.
//
// Sessions live in the IDCO's memory (a restart signs everyone out) and
// expire after SessionTTL; the cookie is HttpOnly, Secure and
// SameSite=Strict. Every POST carries the session's CSRF token, every
// answer a Content-Security-Policy that allows no script, no frames and
// forms only to the portal itself. An owner sees and acts only on the
// networks they own, on the audit entries of those networks and on their
// own keys; each request rereads the ownership, so taking it away takes
// effect at once.
package portal
