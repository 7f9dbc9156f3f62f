package eslocal;

import org.elasticsearch.common.logging.LogConfigurator;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.env.Environment;
import org.elasticsearch.node.ClasspathModulesNode;
import org.elasticsearch.node.InternalSettingsPreparer;
import org.elasticsearch.node.Node;
import org.elasticsearch.transport.netty4.Netty4Plugin;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Runs one single-node Elasticsearch cluster in this JVM, for development and tests, until the process is terminated.
 *
 * <p>Arguments are node settings in the same {@code -Ename=value} form that {@code bin/elasticsearch} accepts; the
 * Python launcher ({@code python -m es_local}) supplies the port, the paths and the processor count. The defaults below
 * make the node safe on a shared machine: it only listens on the loopback interface, forms a cluster on its own and
 * never turns indices read-only because the disk of the host is fuller than a production watermark.
 *
 * <p>SIGTERM (or Ctrl-C) closes the node through a shutdown hook, so shards are flushed and the data folder can be
 * reused by the next start.
 */
public final class LocalElasticsearch {

    private static final long CLOSE_TIMEOUT_SECONDS = 30;

    private LocalElasticsearch() {}

    public static void main(String[] args) {
        try {
            run(args);
        } catch (Throwable failure) {
            // A half-started node keeps non-daemon threads alive: report and leave instead of hanging.
            System.err.println("es-local: the node could not start: " + failure);
            failure.printStackTrace(System.err);
            System.exit(1);
        }
    }

    private static void run(String[] args) throws Exception {
        Path configDir = Path.of(requiredProperty("es.path.conf"));
        Environment environment = InternalSettingsPreparer.prepareEnvironment(
            nodeSettings(args),
            Map.of(),
            configDir,
            () -> "es-local"
        );
        LogConfigurator.setNodeName(Node.NODE_NAME_SETTING.get(environment.settings()));
        LogConfigurator.setClusterName(environment.settings().get("cluster.name"));
        LogConfigurator.configure(environment, true);

        Node node = new ClasspathModulesNode(
            environment, List.of(Netty4Plugin.class, RootEndpointPlugin.class, CommonTokenFiltersPlugin.class,
                LanguageAnalyzersPlugin.class)
        );
        CountDownLatch closed = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> closeNode(node, closed), "es-local-shutdown"));
        node.start();
        closed.await();
    }

    /** Safe local defaults first, then the caller's {@code -Ename=value} arguments, which win. */
    static Settings nodeSettings(String[] args) {
        Settings.Builder settings = Settings.builder()
            .put("cluster.name", "es-local")
            .put("discovery.type", "single-node")
            .put("network.host", "127.0.0.1")
            .put("transport.port", "0")
            .put("cluster.routing.allocation.disk.threshold_enabled", false);
        for (String arg : args) {
            if (arg.startsWith("-E") == false || arg.indexOf('=') < 3) {
                throw new IllegalArgumentException("expected -Ename=value, got [" + arg + "]");
            }
            int equals = arg.indexOf('=');
            settings.put(arg.substring(2, equals), arg.substring(equals + 1));
        }
        return settings.build();
    }

    private static void closeNode(Node node, CountDownLatch closed) {
        try {
            node.close();
            if (node.awaitClose(CLOSE_TIMEOUT_SECONDS, TimeUnit.SECONDS) == false) {
                System.err.println("es-local: the node did not close within " + CLOSE_TIMEOUT_SECONDS + "s");
            }
        } catch (Exception failure) {
            System.err.println("es-local: error while closing the node: " + failure);
        } finally {
            closed.countDown();
        }
    }

    private static String requiredProperty(String name) {
        String value = System.getProperty(name);
        if (value == null || value.isBlank()) {
            throw new IllegalArgumentException("system property " + name + " is required");
        }
        return value;
    }
}
