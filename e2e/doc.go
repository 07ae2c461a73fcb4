// Package e2e drives the real binaries the way survey workers, supervisors
// and operators do: a syncserver on 127.0.0.1 with its SQLite file,
// surveyor laptops with theirs, and surveygen data in between.
package e2e
