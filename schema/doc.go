// Package schema holds the domain of door-to-door enrolment: households,
// residents, the rules that make an enrolment valid, the wire format that
// laptops and the server speak, and the SQL migrations of both stores.
// It imports nothing of ours and no database driver, so both binaries share
// exactly one copy of every rule.
package schema
