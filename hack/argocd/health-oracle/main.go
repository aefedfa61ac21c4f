// Command health-oracle evaluates the TetrisApp health check the way Argo CD does: the script
// comes from the argocd-cm ConfigMap users install, and each fixture goes through gitops-engine's
// health.GetResourceHealth with Argo CD's own Lua VM (util/lua), whose sandbox opens only the
// base, table and package libraries unless argocd-cm turns useOpenLibs on.
//
// Usage: health-oracle ARGOCD_CM_YAML HEALTH_TEST_YAML
//
// HEALTH_TEST_YAML lists fixtures and the health each must get, in the layout of Argo CD's own
// resource_customizations tests. Prints one line per fixture; exits 1 if any differs.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/argoproj/argo-cd/gitops-engine/v3/pkg/health"
	"github.com/argoproj/argo-cd/v3/util/lua"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

type healthTests struct {
	Tests []struct {
		InputPath    string              `json:"inputPath"`
		HealthStatus health.HealthStatus `json:"healthStatus"`
	} `json:"tests"`
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: health-oracle ARGOCD_CM_YAML HEALTH_TEST_YAML")
		os.Exit(2)
	}
	overrides, err := overridesFrom(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	failed, err := run(overrides, os.Args[2])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if failed > 0 {
		fmt.Printf("%d fixture(s) got a different health in Argo CD's Lua VM\n", failed)
		os.Exit(1)
	}
}

// overridesFrom reads the health and useOpenLibs keys of an argocd-cm manifest
// (resource.customizations.<type>.<group>_<Kind>) into the overrides Argo CD's settings build
// from them. The settings manager itself needs a Kubernetes client, which this check has no use for.
func overridesFrom(path string) (lua.ResourceHealthOverrides, error) {
	text, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	var cm corev1.ConfigMap
	if err := yaml.UnmarshalStrict(text, &cm); err != nil {
		return nil, fmt.Errorf("parsing %s as a ConfigMap: %w", path, err)
	}
	if cm.Labels["app.kubernetes.io/part-of"] != "argocd" {
		return nil, fmt.Errorf("%s: Argo CD ignores an argocd-cm without the label app.kubernetes.io/part-of: argocd", path)
	}
	overrides := lua.ResourceHealthOverrides{}
	for key, value := range cm.Data {
		parts := strings.SplitN(key, ".", 4)
		if len(parts) != 4 || parts[0]+"."+parts[1] != "resource.customizations" {
			continue
		}
		groupKind := strings.Replace(parts[3], "_", "/", 1)
		override := overrides[groupKind]
		switch parts[2] {
		case "health":
			override.HealthLua = value
		case "useOpenLibs":
			if override.UseOpenLibs, err = strconv.ParseBool(value); err != nil {
				return nil, fmt.Errorf("%s: %s: %w", path, key, err)
			}
		default:
			continue
		}
		overrides[groupKind] = override
	}
	if len(overrides) == 0 {
		return nil, fmt.Errorf("%s has no resource.customizations.health.* key", path)
	}
	return overrides, nil
}

// run evaluates every fixture of the test file and returns how many got a different health.
func run(overrides lua.ResourceHealthOverrides, testFile string) (int, error) {
	text, err := os.ReadFile(testFile)
	if err != nil {
		return 0, fmt.Errorf("reading %s: %w", testFile, err)
	}
	var tests healthTests
	if err := yaml.UnmarshalStrict(text, &tests); err != nil {
		return 0, fmt.Errorf("parsing %s: %w", testFile, err)
	}
	if len(tests.Tests) == 0 {
		return 0, fmt.Errorf("%s lists no tests", testFile)
	}
	failed := 0
	for _, test := range tests.Tests {
		fixture := filepath.Join(filepath.Dir(testFile), test.InputPath)
		got, err := evaluate(overrides, fixture)
		if err != nil {
			return 0, err
		}
		want := test.HealthStatus
		if got.Status == want.Status && got.Message == want.Message {
			fmt.Printf("ok   %s: %s: %s\n", test.InputPath, got.Status, got.Message)
			continue
		}
		failed++
		fmt.Printf("FAIL %s:\n  want %s: %s\n  got  %s: %s\n", test.InputPath, want.Status, want.Message, got.Status, got.Message)
	}
	return failed, nil
}

// evaluate returns the health Argo CD gives the object in the file. A script error is not an
// error here: Argo CD shows it as Unknown, and so does this.
func evaluate(overrides lua.ResourceHealthOverrides, fixture string) (health.HealthStatus, error) {
	text, err := os.ReadFile(fixture)
	if err != nil {
		return health.HealthStatus{}, fmt.Errorf("reading fixture %s: %w", fixture, err)
	}
	obj := &unstructured.Unstructured{}
	if err := yaml.Unmarshal(text, &obj.Object); err != nil {
		return health.HealthStatus{}, fmt.Errorf("parsing fixture %s: %w", fixture, err)
	}
	status, _ := health.GetResourceHealth(obj, overrides)
	if status == nil {
		return health.HealthStatus{Status: "(none: no health check applies)"}, nil
	}
	return *status, nil
}
