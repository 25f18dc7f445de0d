// Package deploy holds no code: its tests check the deployment files at the
// repository's root (docker-compose.yml, docker-compose.prod.yml, the
// Dockerfile and scripts/splunk-setup.sh) by loading them with the Compose
// specification's own loader, so a broken dependency gate, a missing
// healthcheck, a container running as root or a default password in the
// production override fails `go test` instead of a deployment.
package deploy
