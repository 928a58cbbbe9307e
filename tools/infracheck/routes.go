package main

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
)

// publicRoutesDoc documents the routes that may be reached without a token;
// the list between its markers is the one this check accepts, so the
// documentation and the check cannot drift apart.
const publicRoutesDoc = "docs/gateway-routes.md"

var (
	publicListRE  = regexp.MustCompile("(?s)<!-- public-routes -->(.*?)<!-- /public-routes -->")
	publicRouteRE = regexp.MustCompile("(?m)^\\|\\s*`([^`]+)`\\s*\\|")
)

// loadPublicRoutes reads the route names of the documented list: the first
// column, in backquotes, of the table between the markers.
func loadPublicRoutes(cfg *config) ([]string, error) {
	raw, err := cfg.read(publicRoutesDoc)
	if err != nil {
		return nil, err
	}
	m := publicListRE.FindSubmatch(raw)
	if m == nil {
		return nil, fmt.Errorf("no <!-- public-routes --> ... <!-- /public-routes --> list")
	}
	var names []string
	for _, r := range publicRouteRE.FindAllSubmatch(m[1], -1) {
		names = append(names, string(r[1]))
	}
	return names, nil
}

// checkRouteProtection: auth on every route. The plugin must be configured
// globally and enabled, not anonymous; each route is then protected unless
// the instance Kong applies to it (the most specific enabled one: route,
// then service, then global) is anonymous. A route that is not protected
// must be on the documented list of public routes, and every route on the
// list must exist and be public. A disabled instance on a route or service
// is refused: Kong skips disabled plugins, so it would not exempt the route
// (the global instance runs), and whoever wrote it meant something else.
func checkRouteProtection(f *findings, file string, routes []kongRouteInfo, global []kongEntity, public []string, info *pluginInfo) {
	var g kongEntity
	for _, p := range global {
		if p["name"] == info.Name {
			g = p
		}
	}
	switch {
	case g == nil:
		f.add(file, "%s is not a global plugin: a route added without its own instance would be unprotected", info.Name)
		return
	case g["enabled"] == false:
		f.add(file, "the global %s plugin is disabled", info.Name)
		return
	case isAnonymous(g):
		f.add(file, "the global %s plugin is anonymous: every route would let callers without a token through", info.Name)
	}

	seen := map[string]bool{}
	for _, r := range routes {
		seen[r.name] = true
		effective := g
		for _, level := range []struct {
			where   string
			plugins []kongEntity
		}{{"service", r.svcPlugin}, {"route", r.plugins}} {
			for _, p := range level.plugins {
				if p["name"] != info.Name {
					continue
				}
				if p["enabled"] == false {
					f.add(file, "route %q: a disabled %s on its %s does not exempt it (Kong skips disabled plugins and runs the global one); use anonymous: true and list the route in %s", r.name, info.Name, level.where, publicRoutesDoc)
					continue
				}
				effective = p
			}
		}
		listed := slices.Contains(public, r.name)
		switch {
		case isAnonymous(effective) && !listed:
			f.add(file, "route %q lets callers without a token through but is not on the list of public routes in %s", r.name, publicRoutesDoc)
		case !isAnonymous(effective) && listed:
			f.add(file, "route %q is on the list of public routes in %s but is protected: update the list", r.name, publicRoutesDoc)
		}
	}
	sort.Strings(public)
	for _, name := range public {
		if !seen[name] {
			f.add(publicRoutesDoc, "public route %q is not a route of %s", name, file)
		}
	}
}

func isAnonymous(p kongEntity) bool {
	conf, _ := p["config"].(kongEntity)
	return conf["anonymous"] == true
}
