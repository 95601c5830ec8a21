package main

import (
	"context"
	"strconv"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/custodyhq/custody/internal/s3util"
	"github.com/custodyhq/custody/internal/sim"
	"github.com/custodyhq/custody/internal/sim/recexport"
)

// simScriptCmds give the scripts a simulator: `sim-start N [FAULTS]`
// starts one in-process with N conversations and sets $API, $LOGIN and the
// credentials in the environment, as a user would from its ready line;
// `sim-recording-export DIR` writes a damaged Recording export of its org
// to DIR (the API path of recording jobs is tested in internal/sim).
func simScriptCmds() map[string]func(ts *testscript.TestScript, neg bool, args []string) {
	var srv *sim.Server
	return map[string]func(ts *testscript.TestScript, neg bool, args []string){
		"sim-start": func(ts *testscript.TestScript, neg bool, args []string) {
			if neg || len(args) < 1 || len(args) > 2 {
				ts.Fatalf("usage: sim-start N [FAULTS]")
			}
			n, err := strconv.Atoi(args[0])
			ts.Check(err)
			opts := sim.Options{OrgConfig: sim.OrgConfig{Seed: 4, Conversations: n, LegalHoldShare: 0.2, OtherMediaShare: 0.2}}
			if len(args) == 2 {
				opts.Faults = args[1]
			}
			srv, err = sim.Start(context.Background(), opts)
			ts.Check(err)
			ts.Defer(func() { srv.Close() })
			ts.Setenv("API", srv.APIURL)
			ts.Setenv("LOGIN", srv.LoginURL)
			ts.Setenv("GENESYSCLOUD_OAUTHCLIENT_ID", srv.ClientID)
			ts.Setenv("GENESYSCLOUD_OAUTHCLIENT_SECRET", srv.ClientSecret)
		},
		"sim-recording-export": func(ts *testscript.TestScript, neg bool, args []string) {
			if neg || len(args) != 1 || srv == nil {
				ts.Fatalf("usage: sim-recording-export DIR (after sim-start)")
			}
			t, err := recexport.OpenTarget(context.Background(), ts.MkAbs(args[0]), s3util.Config{})
			ts.Check(err)
			_, err = recexport.Export(context.Background(), srv.Org, nil, t, recexport.DefaultProfile(recexport.ShapeGenesys, 4))
			ts.Check(err)
		},
	}
}
