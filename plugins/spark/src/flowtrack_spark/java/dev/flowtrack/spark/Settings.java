package dev.flowtrack.spark;

import java.io.File;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.apache.spark.SparkConf;
import scala.Tuple2;

/** The spark.flowtrack.* keys, read once from the application's SparkConf. */
final class Settings {
  static final String PREFIX = "spark.flowtrack.";
  static final Set<String> KNOWN = new HashSet<>(Arrays.asList(
      "trackingUri", "experiment", "runName", "parentRunId", "spoolDir", "queueSize", "python",
      "helper", "referenceAbove", "params"));
  /** Confs recorded as params when set; anything else only if named in spark.flowtrack.params. */
  static final List<String> PARAMS = Arrays.asList(
      "spark.master", "spark.submit.deployMode", "spark.app.name", "spark.driver.memory",
      "spark.driver.cores", "spark.executor.memory", "spark.executor.cores",
      "spark.executor.instances", "spark.default.parallelism", "spark.sql.shuffle.partitions",
      "spark.sql.adaptive.enabled", "spark.dynamicAllocation.enabled", "spark.serializer",
      "spark.speculation");
  private static final String[] SECRET_WORDS = {
    "secret", "password", "passwd", "token", "credential", "key", "auth", "signature"};

  final Map<String, String> flowtrack = new LinkedHashMap<>();
  final Map<String, String> params = new LinkedHashMap<>();
  final List<String> unknown = new ArrayList<>();
  final String spoolDir;
  final int queueSize;
  final String python;
  final boolean helper;

  Settings(SparkConf conf) {
    Set<String> extra = new HashSet<>();
    for (String name : conf.get(PREFIX + "params", "").split(",")) {
      if (!name.trim().isEmpty()) {
        extra.add(name.trim());
      }
    }
    for (Tuple2<String, String> kv : conf.getAll()) {
      String key = kv._1();
      if (key.startsWith(PREFIX)) {
        String name = key.substring(PREFIX.length());
        if (KNOWN.contains(name)) {
          flowtrack.put(name, kv._2());
        } else {
          unknown.add(key);
        }
      } else if ((PARAMS.contains(key) || extra.contains(key)) && !secret(key)) {
        params.put(key, kv._2());
      }
    }
    spoolDir = conf.get(PREFIX + "spoolDir", defaultSpoolDir());
    queueSize = parseInt(conf.get(PREFIX + "queueSize", "10000"), 10000);
    python = conf.get(PREFIX + "python", envOr("FLOWTRACK_SPARK_PYTHON", ""));
    helper = !"false".equalsIgnoreCase(conf.get(PREFIX + "helper", "true"));
  }

  static boolean secret(String key) {
    String lower = key.toLowerCase(Locale.ROOT);
    for (String word : SECRET_WORDS) {
      if (lower.contains(word)) {
        return true;
      }
    }
    return false;
  }

  private static int parseInt(String text, int fallback) {
    try {
      return Integer.parseInt(text.trim());
    } catch (NumberFormatException e) {
      System.err.println("flowtrack: spark.flowtrack.queueSize=" + text
          + " is not a whole number; using " + fallback);
      return fallback;
    }
  }

  private static String envOr(String name, String fallback) {
    String value = System.getenv(name);
    return value == null || value.isEmpty() ? fallback : value;
  }

  /** The same folder the Python side uses: $FLOWTRACK_SPOOL_DIR/spark, else under the home. */
  static String defaultSpoolDir() {
    String spool = System.getenv("FLOWTRACK_SPOOL_DIR");
    if (spool == null || spool.isEmpty()) {
      String home = envOr("FLOWTRACK_HOME",
          System.getProperty("user.home") + File.separator + ".flowtrack");
      spool = home + File.separator + "spool";
    }
    return spool + File.separator + "spark";
  }
}
