// Package chartcheck checks the platform's Kubernetes packaging without a
// cluster: it renders charts/poet with the real helm binary and decodes every
// rendered document strictly into its k8s.io/api type, so a misspelt or
// misplaced field fails here instead of being dropped silently by the API
// server (or rejected only at deploy time). Its tests also check that
// skaffold.yaml builds exactly the six services from existing main packages.
//
// Run it with `make charts-check`, or:
//
//	bash tools/chartcheck/install-helm.sh && cd tools && go test ./chartcheck/...
package chartcheck

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// Object is a decoded manifest: one of the pointer types returned by
// newObject, all of which carry ObjectMeta.
type Object interface {
	GetName() string
	GetLabels() map[string]string
}

// newObject returns an empty value of the API type for apiVersion and kind,
// or an error for a kind the chart is not expected to render.
func newObject(apiVersion, kind string) (Object, error) {
	switch apiVersion + " " + kind {
	case "apps/v1 Deployment":
		return &appsv1.Deployment{}, nil
	case "v1 Service":
		return &corev1.Service{}, nil
	case "v1 ServiceAccount":
		return &corev1.ServiceAccount{}, nil
	case "v1 ConfigMap":
		return &corev1.ConfigMap{}, nil
	case "policy/v1 PodDisruptionBudget":
		return &policyv1.PodDisruptionBudget{}, nil
	case "autoscaling/v2 HorizontalPodAutoscaler":
		return &autoscalingv2.HorizontalPodAutoscaler{}, nil
	case "networking.k8s.io/v1 Ingress":
		return &networkingv1.Ingress{}, nil
	case "networking.k8s.io/v1 NetworkPolicy":
		return &networkingv1.NetworkPolicy{}, nil
	}
	return nil, fmt.Errorf("unexpected kind %q (apiVersion %q)", kind, apiVersion)
}

// Decode strictly decodes one YAML manifest into its Kubernetes API type.
// Unknown fields, duplicate keys, fields in the wrong case, wrong value types
// and unknown kinds are all errors.
func Decode(doc []byte) (Object, error) {
	// YAMLToJSONStrict rejects duplicate keys, which plain YAML decoding would
	// resolve silently (last one wins).
	js, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return nil, fmt.Errorf("yaml: %w", err)
	}
	var tm metav1.TypeMeta
	if err := sigsjson.UnmarshalCaseSensitivePreserveInts(js, &tm); err != nil {
		return nil, fmt.Errorf("type meta: %w", err)
	}
	obj, err := newObject(tm.APIVersion, tm.Kind)
	if err != nil {
		return nil, err
	}
	// sigs.k8s.io/json matches field names case-sensitively, as the API
	// server does; encoding/json would accept "Replicas" for "replicas".
	strictErrs, err := sigsjson.UnmarshalStrict(js, obj, sigsjson.DisallowDuplicateFields, sigsjson.DisallowUnknownFields)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", tm.Kind, err)
	}
	if len(strictErrs) > 0 {
		return nil, fmt.Errorf("%s: %w", tm.Kind, errors.Join(strictErrs...))
	}
	if obj.GetName() == "" {
		return nil, fmt.Errorf("%s without metadata.name", tm.Kind)
	}
	return obj, nil
}

// SplitDocuments splits a multi-document YAML stream on "---" separator
// lines and drops documents holding only comments and blank lines (helm
// emits those for templates that render nothing).
func SplitDocuments(stream []byte) [][]byte {
	var docs [][]byte
	var cur bytes.Buffer
	flush := func() {
		if hasContent(cur.Bytes()) {
			docs = append(docs, bytes.Clone(cur.Bytes()))
		}
		cur.Reset()
	}
	sc := bufio.NewScanner(bytes.NewReader(stream))
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if line == "---" || strings.HasPrefix(line, "--- ") || strings.HasPrefix(line, "---\t") {
			flush()
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
	}
	flush()
	return docs
}

func hasContent(doc []byte) bool {
	for line := range strings.SplitSeq(string(doc), "\n") {
		t := strings.TrimSpace(line)
		if t != "" && !strings.HasPrefix(t, "#") {
			return true
		}
	}
	return false
}

// DecodeAll splits a rendered stream and strictly decodes every document;
// the error names each failing document by index and its helm source.
func DecodeAll(stream []byte) ([]Object, error) {
	var objs []Object
	var errs []error
	for i, doc := range SplitDocuments(stream) {
		obj, err := Decode(doc)
		if err != nil {
			errs = append(errs, fmt.Errorf("document %d (%s): %w", i, source(doc), err))
			continue
		}
		objs = append(objs, obj)
	}
	return objs, errors.Join(errs...)
}

// source returns the "# Source: <template>" comment helm puts on a document.
func source(doc []byte) string {
	for line := range strings.SplitSeq(string(doc), "\n") {
		if s, ok := strings.CutPrefix(line, "# Source: "); ok {
			return s
		}
	}
	return "unknown template"
}

// FindHelm returns the helm binary on PATH, else the one install-helm.sh
// puts in $(go env GOBIN) or $(go env GOPATH)/bin.
func FindHelm() (string, error) {
	if p, err := exec.LookPath("helm"); err == nil {
		return p, nil
	}
	var tried []string
	for _, v := range []string{"GOBIN", "GOPATH"} {
		out, err := exec.Command("go", "env", v).Output()
		dir := strings.TrimSpace(string(out))
		if err != nil || dir == "" {
			continue
		}
		if v == "GOPATH" {
			// GOPATH may list several directories; install uses the first.
			dir = filepath.Join(filepath.SplitList(dir)[0], "bin")
		}
		p := filepath.Join(dir, "helm")
		tried = append(tried, p)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("helm not found on PATH nor at %s: run tools/chartcheck/install-helm.sh", strings.Join(tried, ", "))
}
