// Micropathways Neo4j launcher: starts Neo4j 5.26 LTS Community in-process with the Bolt connector
// on a loopback address, sets the initial password, and shuts down cleanly on SIGTERM.
//
// Usage: java -cp <neo4j classpath>:. Launcher <data-dir> <port> <page-cache, e.g. 256m>
// The password is read from the NEO4J_PASSWORD environment variable (never the command line).
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.connectors.HttpConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;
import org.neo4j.io.ByteUnit;

public class Launcher {
    public static void main(String[] args) throws Exception {
        if (args.length < 3) {
            System.err.println("usage: Launcher <data-dir> <port> <page-cache>");
            System.exit(2);
        }
        Path home = Path.of(args[0]).toAbsolutePath();
        int port = Integer.parseInt(args[1]);
        long pageCache = ByteUnit.parse(args[2]);
        String password = System.getenv("NEO4J_PASSWORD");
        if (password == null || password.length() < 8) {
            System.err.println("NEO4J_PASSWORD must be set to at least 8 characters");
            System.exit(2);
        }
        Files.createDirectories(home);
        DatabaseManagementService service = new DatabaseManagementServiceBuilder(home)
            .setConfig(BoltConnector.enabled, true)
            .setConfig(BoltConnector.listen_address, new SocketAddress("127.0.0.1", port))
            .setConfig(BoltConnector.advertised_address, new SocketAddress("127.0.0.1", port))
            .setConfig(HttpConnector.enabled, false)
            .setConfig(GraphDatabaseSettings.auth_enabled, true)
            .setConfig(GraphDatabaseSettings.pagecache_memory, pageCache)
            .setConfig(GraphDatabaseSettings.transaction_timeout, java.time.Duration.ofMinutes(30))
            .build();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            System.out.println("micropathways-neo4j: shutting down");
            service.shutdown();
        }));
        // The password is set on a new store only; a restart keeps the password the store already has.
        boolean fresh = service.database("system").executeTransactionally(
            "SHOW USERS YIELD user, passwordChangeRequired WHERE user = 'neo4j' RETURN passwordChangeRequired",
            Map.of(), result -> result.hasNext() && Boolean.TRUE.equals(result.next().get("passwordChangeRequired")));
        if (fresh) {
            service.database("system").executeTransactionally(
                "ALTER USER neo4j SET PASSWORD $password CHANGE NOT REQUIRED", Map.of("password", password));
        }
        System.out.println("micropathways-neo4j: ready on bolt://127.0.0.1:" + port);
        System.out.flush();
        Thread.currentThread().join();
    }
}
