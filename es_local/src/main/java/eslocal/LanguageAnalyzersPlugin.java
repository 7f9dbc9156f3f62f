package eslocal;

import org.apache.lucene.analysis.Analyzer;
import org.apache.lucene.analysis.cjk.CJKAnalyzer;
import org.apache.lucene.analysis.da.DanishAnalyzer;
import org.apache.lucene.analysis.de.GermanAnalyzer;
import org.apache.lucene.analysis.en.EnglishAnalyzer;
import org.apache.lucene.analysis.es.SpanishAnalyzer;
import org.apache.lucene.analysis.fi.FinnishAnalyzer;
import org.apache.lucene.analysis.fr.FrenchAnalyzer;
import org.apache.lucene.analysis.it.ItalianAnalyzer;
import org.apache.lucene.analysis.nl.DutchAnalyzer;
import org.apache.lucene.analysis.no.NorwegianAnalyzer;
import org.apache.lucene.analysis.pt.PortugueseAnalyzer;
import org.apache.lucene.analysis.ru.RussianAnalyzer;
import org.apache.lucene.analysis.sv.SwedishAnalyzer;
import org.apache.lucene.analysis.th.ThaiAnalyzer;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.index.analysis.AbstractIndexAnalyzerProvider;
import org.elasticsearch.index.analysis.AnalyzerProvider;
import org.elasticsearch.indices.analysis.AnalysisModule.AnalysisProvider;
import org.elasticsearch.plugins.AnalysisPlugin;
import org.elasticsearch.plugins.Plugin;

import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;

/**
 * The built-in language analyzers that the project's {@code es_language} setting names ({@code english},
 * {@code german}, ..., {@code cjk}, {@code thai}), usable by name in a mapping as on any Elasticsearch cluster.
 *
 * <p>Elasticsearch ships them in its {@code analysis-common} module, which is not published to Maven Central. Each
 * is built here as that module builds it: the Lucene analyzer of the language with its default stop words and no
 * stem exclusions. The parameters that change them ({@code stopwords}, {@code stem_exclusion}, ...) are not
 * implemented and are refused when an index defines one, so a mapping that would analyse text differently on a real
 * cluster fails here instead of passing a test.
 */
public final class LanguageAnalyzersPlugin extends Plugin implements AnalysisPlugin {

    private static final Map<String, Supplier<Analyzer>> LANGUAGES = Map.ofEntries(
        Map.entry("english", EnglishAnalyzer::new),
        Map.entry("german", GermanAnalyzer::new),
        Map.entry("french", FrenchAnalyzer::new),
        Map.entry("spanish", SpanishAnalyzer::new),
        Map.entry("italian", ItalianAnalyzer::new),
        Map.entry("portuguese", PortugueseAnalyzer::new),
        Map.entry("dutch", DutchAnalyzer::new),
        Map.entry("swedish", SwedishAnalyzer::new),
        Map.entry("norwegian", NorwegianAnalyzer::new),
        Map.entry("danish", DanishAnalyzer::new),
        Map.entry("finnish", FinnishAnalyzer::new),
        Map.entry("russian", RussianAnalyzer::new),
        Map.entry("cjk", CJKAnalyzer::new),
        Map.entry("thai", ThaiAnalyzer::new)
    );

    @Override
    public Map<String, AnalysisProvider<AnalyzerProvider<? extends Analyzer>>> getAnalyzers() {
        Map<String, AnalysisProvider<AnalyzerProvider<? extends Analyzer>>> providers = new HashMap<>();
        LANGUAGES.forEach(
            (language, analyzer) -> providers.put(
                language,
                (indexSettings, environment, name, settings) -> new Language(language, name, settings, analyzer.get())
            )
        );
        return providers;
    }

    /** One language's analyzer, shared by every field of an index that names it. */
    static final class Language extends AbstractIndexAnalyzerProvider<Analyzer> {
        private final Analyzer analyzer;

        Language(String language, String name, Settings settings, Analyzer analyzer) {
            super(name, settings);
            CommonTokenFiltersPlugin.onlyKnown("[" + language + "] analyzer", settings, Set.of());
            this.analyzer = analyzer;
        }

        @Override
        public Analyzer get() {
            return analyzer;
        }
    }
}
