package org.elasticsearch.node;

import org.elasticsearch.env.Environment;
import org.elasticsearch.plugins.MockPluginsService;
import org.elasticsearch.plugins.Plugin;
import org.elasticsearch.plugins.PluginsLoader;
import org.elasticsearch.plugins.PluginsService;

import java.util.Collection;
import java.util.List;

/**
 * An Elasticsearch node whose modules (for example the Netty 4 HTTP and transport layer) are plain classes on the
 * JVM classpath instead of bundles unpacked in a distribution's {@code modules/} folder.
 *
 * <p>Maven Central publishes the server and the module jars but not the distribution, so the modules cannot be laid out
 * the way {@code bin/elasticsearch} expects. The hook that chooses the plugin service is package-private, which is why
 * this class lives in {@code org.elasticsearch.node}. The plugin service comes from the published test framework: it
 * is the same one Elasticsearch's own integration tests use to run real nodes from the classpath. Unlike the test
 * framework's {@code MockNode}, nothing here touches {@code ESTestCase}, whose static initialisation would install
 * test-only behaviour (paranoid Netty leak detection, randomised date parsers, a test security manager).
 */
public final class ClasspathModulesNode extends Node {

    private final List<Class<? extends Plugin>> modules;

    public ClasspathModulesNode(Environment environment, Collection<Class<? extends Plugin>> modules) {
        super(NodeConstruction.prepareConstruction(environment, null, new NodeServiceProvider() {
            @Override
            PluginsService newPluginService(Environment initialEnvironment, PluginsLoader pluginsLoader) {
                return new MockPluginsService(initialEnvironment.settings(), initialEnvironment, modules);
            }
        }, true));
        this.modules = List.copyOf(modules);
    }

    /** The module classes this node was built with, for the startup log line. */
    public List<Class<? extends Plugin>> modules() {
        return modules;
    }
}
