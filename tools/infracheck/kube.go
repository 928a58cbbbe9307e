package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// kubeVersion is the Kubernetes minor the manifests are validated for
// (kubectl-validate v0.0.4 ships schemas for 1.23 to 1.30).
const kubeVersion = "1.30"

// namespace every namespaced object deploys into.
const namespace = "medinsights"

// The Django service's names, which its operators' commands use
// (kubectl logs -f deployment/dev-auth-service, kubectl create secret
// generic auth-jwt-keys, argocd app sync auth-service).
const (
	issuerName    = "auth-service"  // Deployment and Service, before the overlay prefix
	jwtKeysSecret = "auth-jwt-keys" // never prefixed
	argoCDApp     = "auth-service"  // the Application that syncs prod
)

// kustomizeBuild renders a kustomization with kustomize's Go API, the one
// `kubectl kustomize` embeds, so no kubectl is needed.
func kustomizeBuild(cfg *config, dir string) ([]byte, error) {
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	res, err := k.Run(filesys.MakeFsOnDisk(), cfg.path(dir))
	if err != nil {
		return nil, err
	}
	return res.AsYaml()
}

// crdDir holds the CRD schemas kept in the repository for the custom
// resources this project renders (ArgoCD Application, ServiceMonitor).
func (cfg *config) crdDir() string { return cfg.path("tools/infracheck/crds") }

// manifest is one decoded document of a rendered file.
type manifest struct {
	file   string // where it was rendered from, for messages
	gvk    string // apiVersion/kind
	name   string
	ns     string
	obj    any // the typed object; nil for custom resources
	source map[string]any
}

// newTyped maps the kinds this project renders to their k8s.io/api types.
// A kind missing here fails the check: add it deliberately.
func newTyped(gvk string) (any, bool) {
	switch gvk {
	case "v1/Namespace":
		return &corev1.Namespace{}, true
	case "v1/ConfigMap":
		return &corev1.ConfigMap{}, true
	case "v1/Secret":
		return &corev1.Secret{}, true
	case "v1/Service":
		return &corev1.Service{}, true
	case "v1/ServiceAccount":
		return &corev1.ServiceAccount{}, true
	case "apps/v1/Deployment":
		return &appsv1.Deployment{}, true
	case "apps/v1/StatefulSet":
		return &appsv1.StatefulSet{}, true
	case "batch/v1/Job":
		return &batchv1.Job{}, true
	case "policy/v1/PodDisruptionBudget":
		return &policyv1.PodDisruptionBudget{}, true
	case "networking.k8s.io/v1/NetworkPolicy":
		return &networkingv1.NetworkPolicy{}, true
	case "autoscaling/v2/HorizontalPodAutoscaler":
		return &autoscalingv2.HorizontalPodAutoscaler{}, true
	}
	return nil, false
}

// customKinds are validated by kubectl-validate against crds/ only.
var customKinds = []string{"argoproj.io/v1alpha1/Application", "monitoring.coreos.com/v1/ServiceMonitor",
	"monitoring.coreos.com/v1/PodMonitor", "monitoring.coreos.com/v1/PrometheusRule"}

// decodeManifests splits a rendered multi-document file and decodes every
// document strictly (unknown fields, duplicate keys, bad quantities and
// wrong types are errors) into its k8s.io/api type.
func decodeManifests(f *findings, label string, data []byte) []manifest {
	var out []manifest
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for i := 0; ; i++ {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			f.add(label, "document %d: %v", i, err)
			break
		}
		var src map[string]any
		if err := yaml.Unmarshal(doc, &src); err != nil {
			f.add(label, "document %d: %v", i, err)
			continue
		}
		if len(src) == 0 {
			continue
		}
		var tm metav1.TypeMeta
		var om struct {
			Metadata metav1.ObjectMeta `json:"metadata"`
		}
		_ = yaml.Unmarshal(doc, &tm)
		_ = yaml.Unmarshal(doc, &om)
		m := manifest{file: label, gvk: tm.APIVersion + "/" + tm.Kind, name: om.Metadata.Name, ns: om.Metadata.Namespace, source: src}
		where := fmt.Sprintf("%s %q", tm.Kind, m.name)
		if slices.Contains(customKinds, m.gvk) {
			out = append(out, m)
			continue
		}
		obj, ok := newTyped(m.gvk)
		if !ok {
			f.add(label, "%s: kind %s has no strict decode in infracheck (kube.go newTyped)", where, m.gvk)
			continue
		}
		if err := yaml.UnmarshalStrict(doc, obj); err != nil {
			f.add(label, "%s: %v", where, err)
			continue
		}
		m.obj = obj
		out = append(out, m)
	}
	return out
}

// kubectlValidate runs kubectl-validate on rendered files, with the CRDs
// kept in the repository, and reports each failed document's causes.
func kubectlValidate(cfg *config, f *findings, files map[string]string) error {
	names := make([]string, 0, len(files))
	for _, path := range files {
		names = append(names, path)
	}
	sort.Strings(names)
	args := append([]string{"--version", kubeVersion, "--local-crds", cfg.crdDir(), "-o", "json"}, names...)
	out, ok, err := runTool(cfg.root, cfg.kubectlValidate, args...)
	if err != nil {
		return err
	}
	if ok {
		return nil
	}
	label := map[string]string{}
	for l, p := range files {
		label[p] = l
	}
	start := strings.Index(out, "{")
	var res map[string][]struct {
		Status  string `json:"status"`
		Message string `json:"message"`
	}
	if start < 0 || json.NewDecoder(strings.NewReader(out[start:])).Decode(&res) != nil {
		f.add("kubectl-validate", "%s", firstLines(out, 10))
		return nil
	}
	for path, docs := range res {
		for i, d := range docs {
			if d.Status != "Success" {
				f.add(label[path], "kubectl-validate: document %d: %s", i, strings.TrimSpace(d.Message))
			}
		}
	}
	return nil
}

// renderDir is a fresh directory for rendered manifests.
func renderDir() (string, func(), error) {
	dir, err := os.MkdirTemp("", "infracheck-")
	if err != nil {
		return "", nil, err
	}
	return dir, func() { os.RemoveAll(dir) }, nil
}

// validateRendered writes each rendering to a file, runs kubectl-validate
// on all of them and decodes each strictly; it returns the decoded
// manifests by label.
func validateRendered(cfg *config, f *findings, rendered map[string][]byte) (map[string][]manifest, error) {
	dir, cleanup, err := renderDir()
	if err != nil {
		return nil, err
	}
	defer cleanup()
	files := map[string]string{}
	i := 0
	for label, data := range rendered {
		p := filepath.Join(dir, fmt.Sprintf("%02d.yaml", i))
		i++
		if err := os.WriteFile(p, data, 0o600); err != nil {
			return nil, err
		}
		files[label] = p
	}
	if len(files) > 0 {
		if err := kubectlValidate(cfg, f, files); err != nil {
			return nil, err
		}
	}
	out := map[string][]manifest{}
	for label, data := range rendered {
		out[label] = decodeManifests(f, label, data)
	}
	return out, nil
}

func checkKustomize(cfg *config, f *findings) error {
	envNames, err := issuerEnvNames(cfg)
	if err != nil {
		f.add("k8s", "%v", err)
	}
	rendered := map[string][]byte{}
	for _, dir := range []string{"k8s/namespace", "k8s/overlays/dev", "k8s/overlays/prod"} {
		out, err := kustomizeBuild(cfg, dir)
		if err != nil {
			f.add(dir, "kustomize build: %s", firstLines(err.Error(), 10))
			continue
		}
		rendered[dir] = out
	}
	secrets := checkSecretTemplate(cfg, f)
	manifests, err := validateRendered(cfg, f, rendered)
	if err != nil {
		return err
	}
	overlays := map[string]struct {
		prefix   string
		replicas int32
		postgres bool
	}{
		"k8s/overlays/dev":  {prefix: "dev-", replicas: 1, postgres: true},
		"k8s/overlays/prod": {prefix: "prod-", replicas: 3, postgres: false},
	}
	for label, want := range overlays {
		ms, ok := manifests[label]
		if !ok {
			continue
		}
		checkWorkloads(f, label, ms, envNames)
		var issuer *appsv1.Deployment
		postgres, hasNamespace, hasService := false, false, false
		for _, m := range ms {
			if ns, ok := m.obj.(*corev1.Namespace); ok {
				hasNamespace = hasNamespace || ns.Name == namespace
				continue
			}
			if !strings.HasPrefix(m.name, want.prefix) {
				f.add(label, "%s %q lacks the name prefix %s", m.gvk, m.name, want.prefix)
			}
			if m.ns != namespace {
				f.add(label, "%s %q is in namespace %q, want %s", m.gvk, m.name, m.ns, namespace)
			}
			switch o := m.obj.(type) {
			case *appsv1.Deployment:
				if o.Name == want.prefix+issuerName {
					issuer = o
				}
			case *corev1.Service:
				hasService = hasService || o.Name == want.prefix+issuerName
			case *appsv1.StatefulSet:
				postgres = true
			}
			for _, ref := range secretRefs(m) {
				if _, ok := secrets[ref.name]; !ok {
					f.add(label, "%s %q reads Secret %q, which k8s/base/secret.template.yaml does not document (Secret names are never prefixed)", m.gvk, m.name, ref.name)
				} else if ref.key != "" && !secrets[ref.name][ref.key] {
					f.add(label, "%s %q reads key %s of Secret %q, which k8s/base/secret.template.yaml does not document", m.gvk, m.name, ref.key, ref.name)
				}
			}
		}
		if !hasNamespace {
			f.add(label, "does not create Namespace %s (kubectl apply -k must work on an empty cluster)", namespace)
		}
		if !hasService {
			f.add(label, "no Service %s%s", want.prefix, issuerName)
		}
		if issuer == nil {
			f.add(label, "no Deployment %s%s", want.prefix, issuerName)
		} else {
			if !slices.ContainsFunc(issuer.Spec.Template.Spec.Volumes, func(v corev1.Volume) bool {
				return v.Secret != nil && v.Secret.SecretName == jwtKeysSecret
			}) {
				f.add(label, "Deployment %q: mounts no volume from Secret %s", issuer.Name, jwtKeysSecret)
			}
			if issuer.Spec.Replicas == nil || *issuer.Spec.Replicas != want.replicas {
				f.add(label, "Deployment %q: want %d replicas", issuer.Name, want.replicas)
			}
			if _, ok := issuer.Spec.Selector.MatchLabels["app.kubernetes.io/instance"]; !ok {
				f.add(label, "Deployment %q: selector lacks app.kubernetes.io/instance, so dev and prod pods would mix", issuer.Name)
			}
		}
		if postgres != want.postgres {
			f.add(label, "in-cluster PostgreSQL StatefulSet present=%v, want %v", postgres, want.postgres)
		}
		requireKinds(f, label, ms, "v1/Service", "policy/v1/PodDisruptionBudget", "networking.k8s.io/v1/NetworkPolicy", "v1/ConfigMap")
	}
	return nil
}

// checkSecretTemplate: the base's Secrets are templates kustomize never
// emits, with every value empty: nothing secret is committed. It returns
// the keys of each documented Secret.
func checkSecretTemplate(cfg *config, f *findings) map[string]map[string]bool {
	const file = "k8s/base/secret.template.yaml"
	keys := map[string]map[string]bool{}
	data, err := cfg.read(file)
	if err != nil {
		f.add(file, "%v", err)
		return keys
	}
	var sub findings
	for _, m := range decodeManifests(&sub, file, data) {
		s, ok := m.obj.(*corev1.Secret)
		if !ok {
			continue
		}
		keys[s.Name] = map[string]bool{}
		for k := range s.StringData {
			keys[s.Name][k] = true
		}
		if s.Annotations["config.kubernetes.io/local-config"] != "true" {
			f.add(file, "Secret %q must carry config.kubernetes.io/local-config: \"true\" so it is never applied", s.Name)
		}
		for k, v := range s.StringData {
			if v != "" {
				f.add(file, "Secret %q: %s has a value; templates must leave every value empty", s.Name, k)
			}
		}
		if len(s.Data) > 0 {
			f.add(file, "Secret %q: data must be empty", s.Name)
		}
	}
	f.problems = append(f.problems, sub.problems...)
	if _, ok := keys[jwtKeysSecret]; !ok {
		f.add(file, "Secret %s (private.pem, public.pem) is not documented", jwtKeysSecret)
	}
	return keys
}

func requireKinds(f *findings, label string, ms []manifest, kinds ...string) {
	for _, k := range kinds {
		if !slices.ContainsFunc(ms, func(m manifest) bool { return m.gvk == k }) {
			f.add(label, "renders no %s", k)
		}
	}
}

// secretRef is a Secret a pod reads, and the key when it reads one key.
type secretRef struct{ name, key string }

// secretRefs lists the Secrets a workload's pods read.
func secretRefs(m manifest) []secretRef {
	spec := podSpec(m.obj)
	if spec == nil {
		return nil
	}
	var refs []secretRef
	for _, v := range spec.Volumes {
		if v.Secret != nil {
			refs = append(refs, secretRef{name: v.Secret.SecretName})
		}
	}
	for _, c := range slices.Concat(spec.InitContainers, spec.Containers) {
		for _, e := range c.Env {
			if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
				refs = append(refs, secretRef{e.ValueFrom.SecretKeyRef.Name, e.ValueFrom.SecretKeyRef.Key})
			}
		}
		for _, e := range c.EnvFrom {
			if e.SecretRef != nil {
				refs = append(refs, secretRef{name: e.SecretRef.Name})
			}
		}
	}
	return refs
}

func podSpec(obj any) *corev1.PodSpec {
	switch o := obj.(type) {
	case *appsv1.Deployment:
		return &o.Spec.Template.Spec
	case *appsv1.StatefulSet:
		return &o.Spec.Template.Spec
	case *batchv1.Job:
		return &o.Spec.Template.Spec
	}
	return nil
}

func podTemplate(obj any) (*metav1.LabelSelector, map[string]string) {
	switch o := obj.(type) {
	case *appsv1.Deployment:
		return o.Spec.Selector, o.Spec.Template.Labels
	case *appsv1.StatefulSet:
		return o.Spec.Selector, o.Spec.Template.Labels
	case *batchv1.Job:
		return nil, o.Spec.Template.Labels
	}
	return nil, nil
}

var validProtocols = []corev1.Protocol{corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP}

// checkWorkloads applies what the API server or kubelet would refuse and
// kubectl-validate does not see, plus the project's hardening rules.
func checkWorkloads(f *findings, label string, ms []manifest, envNames map[string]bool) {
	configMaps := map[string]*corev1.ConfigMap{}
	var templates []map[string]string
	for _, m := range ms {
		if cm, ok := m.obj.(*corev1.ConfigMap); ok {
			configMaps[cm.Name] = cm
		}
	}
	for _, m := range ms {
		spec := podSpec(m.obj)
		if spec == nil {
			continue
		}
		where := fmt.Sprintf("%s %q", m.gvk, m.name)
		sel, labels := podTemplate(m.obj)
		templates = append(templates, labels)
		if sel != nil {
			for k, v := range sel.MatchLabels {
				if labels[k] != v {
					f.add(label, "%s: selector %s=%s does not match the pod template's labels", where, k, v)
				}
			}
		}
		volumes := map[string]bool{}
		for _, v := range spec.Volumes {
			volumes[v.Name] = true
		}
		if st, ok := m.obj.(*appsv1.StatefulSet); ok {
			for _, c := range st.Spec.VolumeClaimTemplates {
				volumes[c.Name] = true
			}
		}
		podNonRoot := spec.SecurityContext != nil && spec.SecurityContext.RunAsNonRoot != nil && *spec.SecurityContext.RunAsNonRoot
		podSeccomp := spec.SecurityContext != nil && spec.SecurityContext.SeccompProfile != nil
		if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
			f.add(label, "%s: automountServiceAccountToken must be false (the pods never call the API server)", where)
		}
		seen := map[string]bool{}
		for _, c := range slices.Concat(spec.InitContainers, spec.Containers) {
			cw := fmt.Sprintf("%s container %q", where, c.Name)
			if c.Name == "" {
				f.add(label, "%s: a container has no name", where)
			} else if seen[c.Name] {
				f.add(label, "%s: duplicate container name", cw)
			}
			seen[c.Name] = true
			if c.Image == "" {
				f.add(label, "%s: no image", cw)
			}
			ports := map[string]bool{}
			for _, p := range c.Ports {
				if p.Protocol != "" && !slices.Contains(validProtocols, p.Protocol) {
					f.add(label, "%s: port %d has protocol %q, want TCP, UDP or SCTP", cw, p.ContainerPort, p.Protocol)
				}
				if p.ContainerPort < 1 || p.ContainerPort > 65535 {
					f.add(label, "%s: containerPort %d out of range", cw, p.ContainerPort)
				}
				if p.Name != "" {
					ports[p.Name] = true
				}
			}
			for _, pr := range []*corev1.Probe{c.LivenessProbe, c.ReadinessProbe, c.StartupProbe} {
				if pr != nil && pr.HTTPGet != nil && pr.HTTPGet.Port.Type == intstr.String && !ports[pr.HTTPGet.Port.StrVal] {
					f.add(label, "%s: probe port %q is not a named container port", cw, pr.HTTPGet.Port.StrVal)
				}
			}
			for _, vm := range c.VolumeMounts {
				if !volumes[vm.Name] {
					f.add(label, "%s: volumeMount %q has no volume", cw, vm.Name)
				}
			}
			checkResources(f, label, cw, c.Resources)
			sc := c.SecurityContext
			if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
				f.add(label, "%s: securityContext.readOnlyRootFilesystem must be true", cw)
			}
			if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
				f.add(label, "%s: securityContext.allowPrivilegeEscalation must be false", cw)
			}
			if !podNonRoot && (sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot) {
				f.add(label, "%s: must run as non-root (runAsNonRoot)", cw)
			}
			// The namespace enforces the "restricted" Pod Security Standard.
			if sc == nil || sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
				f.add(label, "%s: securityContext.capabilities.drop must include ALL (restricted Pod Security Standard)", cw)
			}
			if !podSeccomp && (sc == nil || sc.SeccompProfile == nil) {
				f.add(label, "%s: needs a seccompProfile (restricted Pod Security Standard)", cw)
			}
			if strings.Contains(c.Image, "auth-issuer") {
				checkIssuerContainer(f, label, cw, c, configMaps, envNames)
			}
		}
	}
	for _, m := range ms {
		svc, ok := m.obj.(*corev1.Service)
		if !ok || len(svc.Spec.Selector) == 0 {
			continue
		}
		matched := slices.ContainsFunc(templates, func(labels map[string]string) bool {
			for k, v := range svc.Spec.Selector {
				if labels[k] != v {
					return false
				}
			}
			return true
		})
		if !matched {
			f.add(label, "Service %q selects no pod template in this rendering", svc.Name)
		}
	}
}

func checkResources(f *findings, label, where string, r corev1.ResourceRequirements) {
	for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		req, hasReq := r.Requests[name]
		lim, hasLim := r.Limits[name]
		if !hasReq || !hasLim {
			f.add(label, "%s: resources need requests and limits for %s", where, name)
			continue
		}
		if req.Cmp(lim) > 0 {
			f.add(label, "%s: %s request %s exceeds its limit %s", where, name, req.String(), lim.String())
		}
	}
}

// checkIssuerContainer: the probes the issuer answers, its keys mounted
// read-only, and only variables the issuer reads.
func checkIssuerContainer(f *findings, label, where string, c corev1.Container, configMaps map[string]*corev1.ConfigMap, envNames map[string]bool) {
	if len(c.Args) > 0 && c.Args[0] == "serve" {
		if c.LivenessProbe == nil || c.LivenessProbe.HTTPGet == nil || c.LivenessProbe.HTTPGet.Path != "/api/auth/health/" {
			f.add(label, "%s: livenessProbe must GET /api/auth/health/", where)
		}
		if c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet == nil || c.ReadinessProbe.HTTPGet.Path != "/api/auth/ready/" {
			f.add(label, "%s: readinessProbe must GET /api/auth/ready/", where)
		}
	}
	if envNames == nil {
		return
	}
	names := map[string]bool{}
	for _, e := range c.Env {
		names[e.Name] = true
	}
	for _, ef := range c.EnvFrom {
		if ef.ConfigMapRef != nil {
			if cm, ok := configMaps[ef.ConfigMapRef.Name]; ok {
				for k := range cm.Data {
					names[k] = true
				}
			}
		}
	}
	for n := range names {
		if !envNames[n] {
			f.add(label, "%s: %s is not a variable the issuer reads (issuer/internal/config)", where, n)
		}
	}
	if !names["DATABASE_URL"] || !names["JWT_PRIVATE_KEY_PATH"] {
		f.add(label, "%s: needs DATABASE_URL and JWT_PRIVATE_KEY_PATH", where)
	}
}

func checkHelm(cfg *config, f *findings) error {
	const chart = "charts/medinsights-auth"
	envNames, err := issuerEnvNames(cfg)
	if err != nil {
		f.add(chart, "%v", err)
	}
	valueSets := map[string][]string{
		chart + " (default values)":            nil,
		chart + " (ci/production-values.yaml)": {"-f", filepath.Join(chart, "ci/production-values.yaml")},
	}
	rendered := map[string][]byte{}
	for label, extra := range valueSets {
		out, ok, err := runTool(cfg.root, cfg.helm, append([]string{"lint", "--strict", chart}, extra...)...)
		if err != nil {
			return err
		}
		if !ok {
			f.add(label, "helm lint --strict: %s", firstLines(out, 10))
		}
		out, ok, err = runTool(cfg.root, cfg.helm, append([]string{"template", "medinsights-auth", chart, "--namespace", namespace, "--kube-version", kubeVersion + ".0"}, extra...)...)
		if err != nil {
			return err
		}
		if !ok {
			f.add(label, "helm template: %s", firstLines(out, 10))
			continue
		}
		rendered[label] = []byte(out)
	}
	if _, err := os.Stat(cfg.path(chart + "/templates/NOTES.txt")); err != nil {
		f.add(chart, "templates/NOTES.txt is missing")
	}
	manifests, err := validateRendered(cfg, f, rendered)
	if err != nil {
		return err
	}
	for label, ms := range manifests {
		checkWorkloads(f, label, ms, envNames)
		requireKinds(f, label, ms, "apps/v1/Deployment", "v1/Service", "batch/v1/Job", "policy/v1/PodDisruptionBudget", "networking.k8s.io/v1/NetworkPolicy")
		for _, m := range ms {
			if j, ok := m.obj.(*batchv1.Job); ok {
				hooks := strings.Split(j.Annotations["helm.sh/hook"], ",")
				if !slices.Contains(hooks, "pre-install") || !slices.Contains(hooks, "pre-upgrade") {
					f.add(label, "Job %q: migrations must run as a pre-install,pre-upgrade hook", j.Name)
				}
			}
		}
		if strings.Contains(label, "production") {
			requireKinds(f, label, ms, "autoscaling/v2/HorizontalPodAutoscaler", "monitoring.coreos.com/v1/ServiceMonitor")
		}
	}
	checkKongValues(cfg, f)
	return nil
}

// checkKongValues: the values file for Kong's chart runs our image with the
// plugin server settings pointed at the chart's writable prefix.
func checkKongValues(cfg *config, f *findings) {
	const file = "charts/kong-values.yaml"
	info, err := loadPluginInfo(cfg)
	if err != nil {
		f.add(file, "%v", err)
		return
	}
	data, err := cfg.read(file)
	if err != nil {
		f.add(file, "%v", err)
		return
	}
	var v struct {
		Image struct {
			Repository string `json:"repository"`
			Tag        string `json:"tag"`
		} `json:"image"`
		Env map[string]any `json:"env"`
	}
	if err := yaml.Unmarshal(data, &v); err != nil {
		f.add(file, "YAML: %v", err)
		return
	}
	if v.Image.Repository == "" || v.Image.Repository == "kong" || v.Image.Tag == "" {
		f.add(file, "image must be our Kong image (Dockerfile.kong) with a pinned tag")
	}
	env := map[string]string{}
	for k, val := range v.Env {
		env["KONG_"+strings.ToUpper(k)] = fmt.Sprint(val)
	}
	if strings.TrimSuffix(env["KONG_PREFIX"], "/") != "/kong_prefix" {
		f.add(file, "env.prefix must be /kong_prefix/ (the chart's writable emptyDir)")
	}
	for _, p := range checkKongEnv(env, info, "/usr/local/bin/"+info.Name) {
		f.add(file, "env: %s", p)
	}
}

// argoCDApps are the Applications in k8s/argocd/: file, name, overlay.
// The prod one is the Django service's `argocd app sync auth-service`.
var argoCDApps = []struct{ file, name, overlay string }{
	{"k8s/argocd/application.yaml", argoCDApp, "prod"},
	{"k8s/argocd/application-dev.yaml", argoCDApp + "-dev", "dev"},
}

// ignoreDifference is one entry of an Application's spec.ignoreDifferences.
type ignoreDifference struct {
	Kind         string   `json:"kind"`
	Name         string   `json:"name"`
	JSONPointers []string `json:"jsonPointers"`
}

func checkArgoCD(cfg *config, f *findings) error {
	for _, want := range argoCDApps {
		if err := checkArgoCDApp(cfg, f, want.file, want.name, want.overlay); err != nil {
			return err
		}
	}
	return nil
}

// checkArgoCDApp: one Application, against the CRD, with its name, the
// overlay it syncs, namespace medinsights, automated sync, and the overlay
// Deployment's replica count left to kubectl scale.
func checkArgoCDApp(cfg *config, f *findings, file, name, overlay string) error {
	data, err := cfg.read(file)
	if err != nil {
		f.add(file, "%v", err)
		return nil
	}
	if _, err := validateRendered(cfg, f, map[string][]byte{file: data}); err != nil {
		return err
	}
	var app struct {
		Kind     string `json:"kind"`
		Metadata struct {
			Name string `json:"name"`
		} `json:"metadata"`
		Spec struct {
			Source struct {
				Path string `json:"path"`
			} `json:"source"`
			Destination struct {
				Namespace string `json:"namespace"`
			} `json:"destination"`
			SyncPolicy struct {
				Automated   *struct{} `json:"automated"`
				SyncOptions []string  `json:"syncOptions"`
			} `json:"syncPolicy"`
			IgnoreDifferences []ignoreDifference `json:"ignoreDifferences"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(data, &app); err != nil {
		f.add(file, "YAML: %v", err)
		return nil
	}
	if app.Kind != "Application" {
		f.add(file, "kind %q, want Application", app.Kind)
	}
	if app.Metadata.Name != name {
		f.add(file, "metadata.name %q, want %s (argocd app sync %s)", app.Metadata.Name, name, name)
	}
	path := "k8s/overlays/" + overlay
	if app.Spec.Source.Path != path {
		f.add(file, "spec.source.path %q: Application %s syncs %s", app.Spec.Source.Path, name, path)
	} else if _, err := os.Stat(cfg.path(filepath.Join(path, "kustomization.yaml"))); err != nil {
		f.add(file, "spec.source.path %q is not a kustomization in the repository", path)
	}
	if app.Spec.Destination.Namespace != namespace {
		f.add(file, "spec.destination.namespace must be %s", namespace)
	}
	if app.Spec.SyncPolicy.Automated == nil {
		f.add(file, "spec.syncPolicy.automated must be set (automated sync)")
	}
	deployment := overlay + "-" + issuerName
	ignored := slices.ContainsFunc(app.Spec.IgnoreDifferences, func(d ignoreDifference) bool {
		return d.Kind == "Deployment" && d.Name == deployment && slices.Contains(d.JSONPointers, "/spec/replicas")
	})
	if !ignored || !slices.Contains(app.Spec.SyncPolicy.SyncOptions, "RespectIgnoreDifferences=true") {
		f.add(file, "must ignore Deployment %s's /spec/replicas (with RespectIgnoreDifferences=true), or self-heal undoes kubectl scale", deployment)
	}
	return nil
}
