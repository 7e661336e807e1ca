// Package firewall owns one nftables table and rebuilds it whole from a
// declarative Spec: named address sets, base chains and their rules.
//
// # One table, one owner, one transaction
//
// A Table is the only writer of its table (family and name given by the
// owner: the node agent's "inet switchboard", later the edge's own). Set
// sends the whole table in ONE netlink batch, which the kernel applies
// atomically:
//
//	add table    (creates it if missing, so that the next step cannot fail)
//	delete table (its chains, rules and sets with it)
//	add table, its sets with their elements, its chains, their rules
//
// Packets see either the old table or the new one, never a moment without
// rules, including when a restarted owner calls Set for the first time on
// a table its previous run left in place. If the kernel refuses any part,
// it refuses the whole batch and the old table stays as it was. Set may be
// called many times with identical specs; the only thing a repeated Set
// changes is that the rules' counters start again from zero.
//
// Delete removes the table; a table that is not there is success. It is
// for uninstalling only: an owner that restarts calls Set again and never
// Delete, so that its rules are never absent.
//
// # Rules
//
// A Rule is a list of Matches (all must hold) and a Verdict. The matches
// are the few the owners need, each built by a constructor (UDPDport,
// IifName, SAddrIn, CtStatusSNAT, ...) and each rendered in nft's own
// syntax, so Spec.String() reads like `nft list table` and serves as the
// golden text of tests and fakes. The rules are matched in the inet,
// ip or ip6 family the Table was made for; address matches name a Set of
// the Spec and take its family (ip or ip6) from the Set's type.
//
// # Namespaces
//
// A Table talks to the nftables of the namespace it was made in, or of the
// one named by WithNetNS (tests use throwaway namespaces).
package firewall
