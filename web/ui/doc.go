// Package ui is AgentScope's web interface: templ components that render
// each page from a view model, and the embedded stylesheet and script that
// enhance them. Pages are complete without JavaScript; the script adds live
// updates, step-through replay and keyboard navigation. Package web builds
// the view models from the store and the optional backends and serves the
// pages; this package only renders.
package ui
