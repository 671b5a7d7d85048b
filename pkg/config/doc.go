// Package config reads the agent's YAML configuration file (strictly: an
// unknown key is an error naming it), resolves a named profile of detector
// thresholds under it, and watches the file for changes (polling, which
// also sees Kubernetes ConfigMap symlink swaps) and SIGHUP.
//
// It does not apply a configuration: the caller gets a Settings value and
// hands its parts to the agent and the webhook sink. It does not parse
// flags either; the caller overrides Settings with the flags it was given.
package config
