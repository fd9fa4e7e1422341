// Command pulumi-language-nodejs puts the one RPC that the CLI v3.248.0 needs and the
// Node.js language host v3.68.0 lacks in front of that host: RunPlugin, which runs a
// policy pack. v3.68.0 is the newest host the Go module proxy serves (docs/real-engine.md);
// it answers RunPlugin with "not supported", and the CLI runs a Node.js policy pack through
// RunPlugin whenever it finds a Node.js language host (sdk/go/common/resource/plugin/
// analyzer_plugin.go, NewPolicyAnalyzer, v3.248.0). Every other call goes to the real host.
//
// RunPlugin follows the v3.248.0 host (sdk/nodejs/cmd/pulumi-language-nodejs/main.go,
// RunPlugin and locateModule): for an analyzer it runs
// `node <@pulumi/pulumi/cmd/run-policy-pack> <args...> <policy pack folder>` in the policy
// pack's folder behind sdk.NewPolicyProxy, which hands the pack the stack's configuration.
// Other plugin kinds are not needed here and are refused.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	sdk "github.com/pulumi/pulumi/sdk/v3"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/emptypb"
)

// realHost is the file name of the v3.68.0 host, next to this program (scripts/build-pulumi-tools.sh).
const realHost = "pulumi-language-nodejs-upstream"

type front struct {
	pulumirpc.UnimplementedLanguageRuntimeServer
	host pulumirpc.LanguageRuntimeClient
}

func (f *front) Handshake(ctx context.Context, req *pulumirpc.LanguageHandshakeRequest) (*pulumirpc.LanguageHandshakeResponse, error) {
	return f.host.Handshake(ctx, req)
}

func (f *front) GetRequiredPlugins(ctx context.Context, req *pulumirpc.GetRequiredPluginsRequest) (*pulumirpc.GetRequiredPluginsResponse, error) {
	return f.host.GetRequiredPlugins(ctx, req)
}

func (f *front) GetRequiredPackages(ctx context.Context, req *pulumirpc.GetRequiredPackagesRequest) (*pulumirpc.GetRequiredPackagesResponse, error) {
	return f.host.GetRequiredPackages(ctx, req)
}

func (f *front) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	return f.host.Run(ctx, req)
}

func (f *front) GetPluginInfo(ctx context.Context, req *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return f.host.GetPluginInfo(ctx, req)
}

func (f *front) About(ctx context.Context, req *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	return f.host.About(ctx, req)
}

func (f *front) GetProgramDependencies(ctx context.Context, req *pulumirpc.GetProgramDependenciesRequest) (*pulumirpc.GetProgramDependenciesResponse, error) {
	return f.host.GetProgramDependencies(ctx, req)
}

func (f *front) InstallDependencies(req *pulumirpc.InstallDependenciesRequest, server grpc.ServerStreamingServer[pulumirpc.InstallDependenciesResponse]) error {
	stream, err := f.host.InstallDependencies(server.Context(), req)
	if err != nil {
		return err
	}
	for {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := server.Send(resp); err != nil {
			return err
		}
	}
}

func (f *front) RunPlugin(req *pulumirpc.RunPluginRequest, server grpc.ServerStreamingServer[pulumirpc.RunPluginResponse]) error {
	if req.GetKind() != "analyzer" {
		return fmt.Errorf("this language host runs only policy packs (kind analyzer), not a plugin of kind %q", req.GetKind())
	}
	ctx := server.Context()
	closer, stdout, stderr, err := rpcutil.MakeRunPluginStreams(server, false)
	if err != nil {
		return err
	}
	defer closer.Close()

	node, err := exec.LookPath("node")
	if err != nil {
		return err
	}
	dir := req.GetInfo().GetProgramDirectory()
	locate := exec.CommandContext(ctx, node, "-e", "console.log(require.resolve('@pulumi/pulumi/cmd/run-policy-pack'))")
	locate.Dir = dir
	found, err := locate.Output()
	if err != nil {
		return fmt.Errorf("@pulumi/pulumi/cmd/run-policy-pack not found from %s (run npm install there): %w", dir, err)
	}

	env := req.GetEnv()
	if typescript, ok := req.GetInfo().GetOptions().AsMap()["typescript"].(bool); !ok || typescript {
		env = append(env, "PULUMI_NODEJS_TYPESCRIPT=true")
	}
	proxy, stdout, err := sdk.NewPolicyProxy(ctx, stdout)
	if err != nil {
		return fmt.Errorf("could not start policy pack proxy: %w", err)
	}
	config, err := proxy.AwaitConfiguration(ctx)
	if err != nil {
		return fmt.Errorf("could not get stack configuration: %w", err)
	}
	if config != nil {
		add := func(k, v string) {
			if v != "" {
				env = append(env, k+"="+v)
			}
		}
		add("PULUMI_NODEJS_ORGANIZATION", config.Organization)
		add("PULUMI_NODEJS_PROJECT", config.Project)
		add("PULUMI_NODEJS_STACK", config.Stack)
		add("PULUMI_NODEJS_DRY_RUN", strconv.FormatBool(config.DryRun))
		if config.Config != nil {
			configJSON, err := json.Marshal(config.Config)
			if err != nil {
				return err
			}
			add("PULUMI_CONFIG", string(configJSON))
		}
	}

	args := append([]string{strings.TrimSpace(string(found))}, req.GetArgs()...)
	cmd := exec.CommandContext(ctx, node, append(args, dir)...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	if err := proxy.Attach(ctx, cmd); err != nil {
		return fmt.Errorf("could not attach policy pack proxy: %w", err)
	}
	return nil
}

func main() {
	exe, err := os.Executable()
	if err == nil {
		exe, err = filepath.EvalSymlinks(exe)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	host := exec.Command(filepath.Join(filepath.Dir(exe), realHost), os.Args[1:]...)
	host.Stderr = os.Stderr
	out, err := host.StdoutPipe()
	if err == nil {
		err = host.Start()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "could not start %s: %v\n", realHost, err)
		os.Exit(1)
	}
	lines := bufio.NewScanner(out)
	if !lines.Scan() {
		fmt.Fprintf(os.Stderr, "%s printed no port\n", realHost)
		os.Exit(1)
	}
	conn, err := grpc.NewClient("127.0.0.1:"+strings.TrimSpace(lines.Text()), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{Init: func(srv *grpc.Server) error {
		pulumirpc.RegisterLanguageRuntimeServer(srv, &front{host: pulumirpc.NewLanguageRuntimeClient(conn)})
		return nil
	}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("%d\n", handle.Port)
	go func() { _ = host.Wait(); os.Exit(0) }()
	if err := <-handle.Done; err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
