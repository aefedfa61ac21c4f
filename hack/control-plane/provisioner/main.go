// Command local-path-provisioner gives the local cluster's real node dynamic volumes: for every
// claim of its StorageClass it makes a directory under -dir and a hostPath PersistentVolume pinned
// to the node the scheduler chose, and removes the directory when the volume is released.
//
// It is built on sig-storage-lib-external-provisioner, the library real out-of-tree provisioners
// use, so claims bind as on a real cluster (WaitForFirstConsumer, selected-node annotation, reclaim
// policy, events). The in-tree hostPath provisioner of kube-controller-manager was the other choice;
// it makes root-owned 0750 directories, and hostPath volumes ignore fsGroup, so a non-root pod could
// not write its volume. Directories here are 0777, as local-path provisioners make them.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
	"sigs.k8s.io/sig-storage-lib-external-provisioner/v11/controller"
)

type localPath struct {
	dir string
}

func (p *localPath) Provision(_ context.Context, opts controller.ProvisionOptions) (*v1.PersistentVolume, controller.ProvisioningState, error) {
	if opts.SelectedNode == nil {
		return nil, controller.ProvisioningFinished, errors.New("no selected node: the StorageClass must use volumeBindingMode WaitForFirstConsumer")
	}
	path := filepath.Join(p.dir, opts.PVName)
	if err := os.MkdirAll(path, 0o777); err != nil {
		return nil, controller.ProvisioningFinished, fmt.Errorf("creating %s: %w", path, err)
	}
	// MkdirAll applies the umask; the volume must be writable by any pod user.
	if err := os.Chmod(path, 0o777); err != nil {
		return nil, controller.ProvisioningFinished, fmt.Errorf("chmod %s: %w", path, err)
	}
	reclaim := v1.PersistentVolumeReclaimDelete
	if opts.StorageClass.ReclaimPolicy != nil {
		reclaim = *opts.StorageClass.ReclaimPolicy
	}
	size := opts.PVC.Spec.Resources.Requests[v1.ResourceStorage]
	if size.IsZero() {
		size = resource.MustParse("1Gi")
	}
	kind := v1.HostPathDirectory
	pv := &v1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: opts.PVName},
		Spec: v1.PersistentVolumeSpec{
			PersistentVolumeReclaimPolicy: reclaim,
			AccessModes:                   opts.PVC.Spec.AccessModes,
			VolumeMode:                    opts.PVC.Spec.VolumeMode,
			Capacity:                      v1.ResourceList{v1.ResourceStorage: size},
			PersistentVolumeSource: v1.PersistentVolumeSource{
				HostPath: &v1.HostPathVolumeSource{Path: path, Type: &kind},
			},
			MountOptions: opts.StorageClass.MountOptions,
			NodeAffinity: &v1.VolumeNodeAffinity{Required: &v1.NodeSelector{
				NodeSelectorTerms: []v1.NodeSelectorTerm{{MatchExpressions: []v1.NodeSelectorRequirement{{
					Key: "kubernetes.io/hostname", Operator: v1.NodeSelectorOpIn,
					Values: []string{opts.SelectedNode.Labels["kubernetes.io/hostname"]},
				}}}},
			}},
		},
	}
	return pv, controller.ProvisioningFinished, nil
}

func (p *localPath) Delete(_ context.Context, pv *v1.PersistentVolume) error {
	if pv.Spec.HostPath == nil {
		return errors.New("not a hostPath volume")
	}
	path := filepath.Clean(pv.Spec.HostPath.Path)
	// Never remove anything outside the directory this provisioner owns.
	if !strings.HasPrefix(path, filepath.Clean(p.dir)+string(filepath.Separator)) {
		return fmt.Errorf("%s is outside %s", path, p.dir)
	}
	return os.RemoveAll(path)
}

func main() {
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig of the cluster")
	dir := flag.String("dir", "", "directory under which volumes are made")
	name := flag.String("provisioner", "local-cluster.dev/local-path", "provisioner name of the StorageClass")
	klog.InitFlags(nil)
	flag.Parse()
	if *kubeconfig == "" || *dir == "" {
		fmt.Fprintln(os.Stderr, "local-path-provisioner: -kubeconfig and -dir are required")
		os.Exit(2)
	}
	config, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		klog.Fatalf("kubeconfig %s: %v", *kubeconfig, err)
	}
	client, err := kubernetes.NewForConfig(config)
	if err != nil {
		klog.Fatalf("client: %v", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	controller.NewProvisionController(ctx, client, *name, &localPath{dir: *dir},
		controller.LeaderElection(false),
	).Run(ctx)
}
