package dev.flowtrack.spark;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.SparkConf;
import org.apache.spark.sql.catalyst.catalog.CatalogTable;
import org.apache.spark.sql.catalyst.plans.logical.LogicalPlan;
import org.apache.spark.sql.execution.QueryExecution;
import org.apache.spark.sql.execution.command.CreateDataSourceTableAsSelectCommand;
import org.apache.spark.sql.execution.datasources.HadoopFsRelation;
import org.apache.spark.sql.execution.datasources.InsertIntoHadoopFsRelationCommand;
import org.apache.spark.sql.execution.datasources.LogicalRelation;
import org.apache.spark.sql.execution.datasources.text.TextFileFormat;
import org.apache.spark.sql.util.QueryExecutionListener;

/**
 * The SQL listener (spark.sql.queryExecutionListeners=dev.flowtrack.spark.FlowtrackQueryListener):
 * the datasets each query read and wrote, as paths (or tables), formats and schemas.
 *
 * <p>Only file relations are reported. Spark's own schema inference (CSV and JSON headers are
 * read through a text relation by a query that is not a command) is left out.
 */
public class FlowtrackQueryListener implements QueryExecutionListener {
  private boolean warned;

  public FlowtrackQueryListener() {}

  public FlowtrackQueryListener(SparkConf conf) {}

  @Override
  public void onSuccess(String funcName, QueryExecution qe, long durationNs) {
    report(funcName, qe, durationNs / 1_000_000L, null);
  }

  @Override
  public void onFailure(String funcName, QueryExecution qe, Exception exception) {
    report(funcName, qe, -1, exception == null ? "query failed" : exception.toString());
  }

  private void report(String funcName, QueryExecution qe, long durationMs, String error) {
    Shipper out = Shipper.current();
    if (out == null) {
      return; // the application listener is not installed: nothing to ship to
    }
    try {
      LogicalPlan plan = qe.analyzed();
      boolean command = "command".equals(funcName) || isWrite(plan);
      List<Object> reads = new ArrayList<>();
      List<Object> writes = new ArrayList<>();
      walk(plan, command, reads, writes);
      if (reads.isEmpty() && writes.isEmpty()) {
        return;
      }
      Map<String, Object> e = FlowtrackListener.event("sql", (String) null);
      e.put("funcName", funcName);
      e.put("durationMs", durationMs);
      e.put("reads", reads);
      e.put("writes", writes);
      if (error != null) {
        e.put("error", error);
      }
      out.offer(e);
    } catch (Throwable t) {
      if (!warned) {
        warned = true;
        System.err.println("flowtrack: the SQL listener failed (Spark is not affected; further"
            + " errors are not reported): " + t);
      }
    }
  }

  private static boolean isWrite(LogicalPlan plan) {
    return plan instanceof InsertIntoHadoopFsRelationCommand
        || plan instanceof CreateDataSourceTableAsSelectCommand;
  }

  private static void walk(LogicalPlan plan, boolean command, List<Object> reads,
      List<Object> writes) {
    if (plan instanceof InsertIntoHadoopFsRelationCommand) {
      InsertIntoHadoopFsRelationCommand insert = (InsertIntoHadoopFsRelationCommand) plan;
      Map<String, Object> d = new LinkedHashMap<>();
      d.put("path", insert.outputPath().toString());
      d.put("format", insert.fileFormat().toString());
      d.put("mode", insert.mode().toString());
      d.put("schema", insert.query().schema().simpleString());
      table(d, insert.catalogTable());
      writes.add(d);
    } else if (plan instanceof CreateDataSourceTableAsSelectCommand) {
      CreateDataSourceTableAsSelectCommand ctas = (CreateDataSourceTableAsSelectCommand) plan;
      Map<String, Object> d = new LinkedHashMap<>();
      d.put("format", ctas.table().provider().isDefined() ? ctas.table().provider().get() : "");
      d.put("schema", ctas.query().schema().simpleString());
      d.put("table", ctas.table().identifier().unquotedString());
      if (ctas.table().storage().locationUri().isDefined()) {
        d.put("path", ctas.table().storage().locationUri().get().toString());
      }
      writes.add(d);
    } else if (plan instanceof LogicalRelation) {
      LogicalRelation rel = (LogicalRelation) plan;
      if (rel.relation() instanceof HadoopFsRelation) {
        HadoopFsRelation fs = (HadoopFsRelation) rel.relation();
        if (command || !(fs.fileFormat() instanceof TextFileFormat)) {
          for (Object root : scala.jdk.javaapi.CollectionConverters.asJava(
              fs.location().rootPaths())) {
            Map<String, Object> d = new LinkedHashMap<>();
            d.put("path", root.toString());
            d.put("format", fs.fileFormat().toString());
            d.put("schema", fs.schema().simpleString());
            table(d, rel.catalogTable());
            reads.add(d);
          }
        }
      }
    }
    for (LogicalPlan child : scala.jdk.javaapi.CollectionConverters.asJava(plan.children())) {
      walk(child, command, reads, writes);
    }
  }

  private static void table(Map<String, Object> d, scala.Option<CatalogTable> table) {
    if (table != null && table.isDefined()) {
      d.put("table", table.get().identifier().unquotedString());
    }
  }
}
