package redistest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pointsbook/pointsbook/internal/testgate"
)

// Cluster starts a Redis Cluster of n primaries (no replicas) on loopback,
// each a redis-server of its own in a temporary directory, and returns
// their addresses once every slot is served. The servers are stopped at
// the end of the test. Without redis-server and redis-cli the test skips,
// or fails when PB_TEST_REQUIRE lists redis.
func Cluster(tb testing.TB, n int) []string {
	tb.Helper()
	return cluster(tb, n, 0)
}

// ClusterWithReplicas is Cluster with replicas replicas of each of the
// primaries, returned once every replica has synchronised with its
// primary, so a failover (CLUSTER FAILOVER on a replica) can be tried.
// The addresses are of every node; CLUSTER SHARDS tells their roles.
func ClusterWithReplicas(tb testing.TB, primaries, replicas int) []string {
	tb.Helper()
	return cluster(tb, primaries, replicas)
}

func cluster(tb testing.TB, primaries, replicas int) []string {
	tb.Helper()
	n := primaries * (1 + replicas)
	for _, bin := range []string{"redis-server", "redis-cli"} {
		if _, err := exec.LookPath(bin); err != nil {
			testgate.Unavailable(tb, "redis", "%s is not installed", bin)
			return nil
		}
	}
	dir := tb.TempDir()
	addrs := make([]string, n)
	for i := range n {
		port := freeClusterPort(tb)
		addrs[i] = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		log, err := os.Create(filepath.Join(dir, fmt.Sprintf("redis-%d.log", port)))
		if err != nil {
			tb.Fatal(err)
		}
		cmd := exec.Command("redis-server",
			"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
			"--cluster-enabled", "yes", "--cluster-config-file", fmt.Sprintf("nodes-%d.conf", port),
			"--cluster-node-timeout", "5000", "--dir", dir,
			"--save", "", "--appendonly", "no", "--daemonize", "no")
		cmd.Stdout, cmd.Stderr = log, log
		if err := cmd.Start(); err != nil {
			tb.Fatalf("start redis-server: %v", err)
		}
		tb.Cleanup(func() {
			cmd.Process.Kill()
			cmd.Wait()
			log.Close()
		})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, a := range addrs {
		c := redis.NewClient(&redis.Options{Addr: a})
		err := poll(ctx, func() bool { return c.Ping(ctx).Err() == nil })
		c.Close()
		if err != nil {
			tb.Fatalf("redis-server at %s did not answer: %v (logs in %s)", a, err, dir)
		}
	}
	args := append([]string{"--cluster", "create"}, addrs...)
	args = append(args, "--cluster-replicas", strconv.Itoa(replicas), "--cluster-yes")
	if out, err := exec.CommandContext(ctx, "redis-cli", args...).CombinedOutput(); err != nil {
		tb.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	// create returns once the nodes agree on the configuration; each node
	// serves only once it has seen every slot assigned.
	for _, a := range addrs {
		c := redis.NewClient(&redis.Options{Addr: a})
		err := poll(ctx, func() bool {
			info, err := c.ClusterInfo(ctx).Result()
			return err == nil && strings.Contains(info, "cluster_state:ok")
		})
		c.Close()
		if err != nil {
			tb.Fatalf("cluster node %s never reached cluster_state:ok: %v", a, err)
		}
	}
	if replicas == 0 {
		return addrs
	}
	for _, a := range addrs {
		c := redis.NewClient(&redis.Options{Addr: a})
		err := poll(ctx, func() bool {
			info, err := c.Info(ctx, "replication").Result()
			return err == nil && (strings.Contains(info, "role:master") || strings.Contains(info, "master_link_status:up"))
		})
		c.Close()
		if err != nil {
			tb.Fatalf("cluster replica %s never synchronised with its primary: %v", a, err)
		}
	}
	return addrs
}

// poll calls ready until it reports true or ctx ends.
func poll(ctx context.Context, ready func() bool) error {
	for !ready() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil
}

// freeClusterPort finds a port free on loopback whose cluster bus port
// (port + 10000) is free too. Another process could take it before the
// server binds; on a test machine that is rare enough.
func freeClusterPort(tb testing.TB) int {
	tb.Helper()
	for range 100 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			tb.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		if port+10000 > 65535 {
			ln.Close()
			continue
		}
		bus, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port+10000)))
		ln.Close()
		if err != nil {
			continue
		}
		bus.Close()
		return port
	}
	tb.Fatal("no free port pair for a cluster node")
	return 0
}
