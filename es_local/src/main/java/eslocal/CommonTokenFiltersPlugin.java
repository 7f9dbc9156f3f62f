package eslocal;

import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.core.FlattenGraphFilter;
import org.apache.lucene.analysis.miscellaneous.ASCIIFoldingFilter;
import org.apache.lucene.analysis.miscellaneous.WordDelimiterGraphFilter;
import org.apache.lucene.analysis.miscellaneous.WordDelimiterIterator;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.index.analysis.AbstractTokenFilterFactory;
import org.elasticsearch.index.analysis.NormalizingTokenFilterFactory;
import org.elasticsearch.index.analysis.TokenFilterFactory;
import org.elasticsearch.indices.analysis.AnalysisModule.AnalysisProvider;
import org.elasticsearch.plugins.AnalysisPlugin;
import org.elasticsearch.plugins.Plugin;

import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The token filters {@code asciifolding}, {@code word_delimiter_graph} and {@code flatten_graph}, which the project's
 * index mapping uses for accent folding and for finding a part of a file name.
 *
 * <p>Elasticsearch ships them in its {@code analysis-common} module, which, unlike the server and the Netty module, is
 * not published to Maven Central; every Elasticsearch distribution (and Elastic Cloud) has it. They are built here on
 * the very Lucene filters that module wraps, with the parameters and defaults of Elasticsearch's reference. A parameter
 * this node does not implement is refused when the index is created, so a mapping that would analyse text differently
 * on a real cluster fails here instead of passing a test.
 */
public final class CommonTokenFiltersPlugin extends Plugin implements AnalysisPlugin {

    @Override
    public Map<String, AnalysisProvider<TokenFilterFactory>> getTokenFilters() {
        return Map.of(
            "asciifolding", (indexSettings, environment, name, settings) -> new AsciiFolding(name, settings),
            "word_delimiter_graph",
            (indexSettings, environment, name, settings) -> new WordDelimiterGraph(name, settings),
            "flatten_graph", (indexSettings, environment, name, settings) -> new FlattenGraph(name, settings)
        );
    }

    /**
     * Refuses the parameters of {@code settings} other than {@code type} and {@code known} (the node adds the index's
     * own {@code index.*} settings to every filter's and analyzer's); {@code component} names what refuses them.
     */
    static void onlyKnown(String component, Settings settings, Set<String> known) {
        Set<String> unknown = new TreeSet<>(settings.keySet());
        unknown.removeIf(key -> key.equals("type") || key.startsWith("index."));
        unknown.removeAll(known);
        if (!unknown.isEmpty()) {
            throw new IllegalArgumentException(
                "es_local's " + component + " does not implement " + unknown + "; it knows "
                    + new TreeSet<>(known)
            );
        }
    }

    /** Folds letters to their ASCII form ({@code é} to {@code e}); the folded form of a query term too. */
    static final class AsciiFolding extends AbstractTokenFilterFactory implements NormalizingTokenFilterFactory {
        private final boolean preserveOriginal;

        AsciiFolding(String name, Settings settings) {
            super(name, settings);
            onlyKnown("[asciifolding] token filter", settings, Set.of("preserve_original"));
            preserveOriginal = settings.getAsBoolean("preserve_original", false);
        }

        @Override
        public TokenStream create(TokenStream tokenStream) {
            return new ASCIIFoldingFilter(tokenStream, preserveOriginal);
        }

        @Override
        public TokenStream normalize(TokenStream tokenStream) {
            return new ASCIIFoldingFilter(tokenStream, false);  // a normalised term is one term
        }
    }

    /** Splits tokens into their word and number parts; the flags and their defaults are Elasticsearch's. */
    static final class WordDelimiterGraph extends AbstractTokenFilterFactory {
        private static final Map<String, Object[]> FLAGS = Map.of(
            "generate_word_parts", new Object[] {WordDelimiterGraphFilter.GENERATE_WORD_PARTS, true},
            "generate_number_parts", new Object[] {WordDelimiterGraphFilter.GENERATE_NUMBER_PARTS, true},
            "catenate_words", new Object[] {WordDelimiterGraphFilter.CATENATE_WORDS, false},
            "catenate_numbers", new Object[] {WordDelimiterGraphFilter.CATENATE_NUMBERS, false},
            "catenate_all", new Object[] {WordDelimiterGraphFilter.CATENATE_ALL, false},
            "split_on_case_change", new Object[] {WordDelimiterGraphFilter.SPLIT_ON_CASE_CHANGE, true},
            "preserve_original", new Object[] {WordDelimiterGraphFilter.PRESERVE_ORIGINAL, false},
            "split_on_numerics", new Object[] {WordDelimiterGraphFilter.SPLIT_ON_NUMERICS, true},
            "stem_english_possessive", new Object[] {WordDelimiterGraphFilter.STEM_ENGLISH_POSSESSIVE, true},
            "ignore_keywords", new Object[] {WordDelimiterGraphFilter.IGNORE_KEYWORDS, false}
        );

        private final int flags;
        private final boolean adjustOffsets;

        WordDelimiterGraph(String name, Settings settings) {
            super(name, settings);
            Set<String> known = new TreeSet<>(FLAGS.keySet());
            known.add("adjust_offsets");
            onlyKnown("[word_delimiter_graph] token filter", settings, known);
            int chosen = 0;
            for (Map.Entry<String, Object[]> flag : FLAGS.entrySet()) {
                if (settings.getAsBoolean(flag.getKey(), (Boolean) flag.getValue()[1])) {
                    chosen |= (Integer) flag.getValue()[0];
                }
            }
            flags = chosen;
            adjustOffsets = settings.getAsBoolean("adjust_offsets", true);
        }

        @Override
        public TokenStream create(TokenStream tokenStream) {
            return new WordDelimiterGraphFilter(
                tokenStream, adjustOffsets, WordDelimiterIterator.DEFAULT_WORD_DELIM_TABLE, flags, null
            );
        }
    }

    /** Makes a token graph (such as the split parts beside a kept original) indexable. */
    static final class FlattenGraph extends AbstractTokenFilterFactory {
        FlattenGraph(String name, Settings settings) {
            super(name, settings);
            onlyKnown("[flatten_graph] token filter", settings, Set.of());
        }

        @Override
        public TokenStream create(TokenStream tokenStream) {
            return new FlattenGraphFilter(tokenStream);
        }
    }
}
