package ui

import "time"

// Keys is the API keys page.
type Keys struct {
	Keys []KeyRow
	Form KeyForm
	// Created is the key just made, shown once.
	Created *CreatedKey
}

// KeyRow is one listed key: never its secret.
type KeyRow struct {
	ID, Name, Prefix, Scopes string
	CreatedAt                time.Time
	ExpiresAt, LastUsedAt    *time.Time
	// State is active, expired or revoked.
	State string
}

// KeyForm is the create form, filled again after a refusal.
type KeyForm struct {
	Name string
	// Scopes are the scope checkboxes: Value the scope, Label what it
	// allows, Selected whether it is ticked.
	Scopes  []Option
	Expires string
	Error   string
}

// CreatedKey is a key just made: the only time it is shown.
type CreatedKey struct {
	Name, Key string
}
