// Command argocd runs Argo CD's application controller or its repo server, the two parts the
// local GitOps tests need. It links only those two command packages, not upstream's cmd/
// multiplexer (API server, CLI, dex, notifications...), which keeps the cold build smaller.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"k8s.io/klog/v2"

	controller "github.com/argoproj/argo-cd/v3/cmd/argocd-application-controller/commands"
	reposerver "github.com/argoproj/argo-cd/v3/cmd/argocd-repo-server/commands"
	"github.com/argoproj/argo-cd/v3/util/log"
)

func main() {
	klog.SetLogger(log.NewLogrusLogger(log.NewWithCurrentConfig()))
	// Upstream's main also turns off gRPC's DNS SRV lookups, which its grpclb import turns on;
	// these two components do not link grpclb, so they are off already.

	// Upstream picks the component from ARGOCD_BINARY_NAME too; the repo server also sets it when
	// it runs itself as a git credential helper, which file:// repositories never need.
	var command *cobra.Command
	switch name := os.Getenv("ARGOCD_BINARY_NAME"); name {
	case "argocd-application-controller":
		command = controller.NewCommand()
	case "argocd-repo-server":
		command = reposerver.NewCommand()
	default:
		fmt.Fprintf(os.Stderr, "argocd: set ARGOCD_BINARY_NAME to argocd-application-controller or argocd-repo-server (got %q)\n", name)
		os.Exit(2)
	}
	if err := command.Execute(); err != nil {
		os.Exit(1)
	}
}
